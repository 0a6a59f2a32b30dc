# shellcheck shell=bash
# Sourced by the test command and .ci/run: the real peers the tests talk to come
# from Debian's packages. Installs the missing ones when it can (root with
# apt-get); otherwise stops with the exact command that would.
petrel_missing_pkgs=()
command -v redis-server >/dev/null 2>&1 || petrel_missing_pkgs+=(redis-server)
command -v swaks >/dev/null 2>&1 || petrel_missing_pkgs+=(swaks)
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || petrel_missing_pkgs+=(dnsmasq)
[ -x /usr/sbin/smtp-sink ] || command -v smtp-sink >/dev/null 2>&1 || petrel_missing_pkgs+=(postfix)
command -v python3 >/dev/null 2>&1 || petrel_missing_pkgs+=(python3)
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || petrel_missing_pkgs+=(prometheus)
command -v tmux >/dev/null 2>&1 || petrel_missing_pkgs+=(tmux)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || petrel_missing_pkgs+=(haproxy)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || petrel_missing_pkgs+=(iptables)

if [ "${#petrel_missing_pkgs[@]}" -gt 0 ]; then
  petrel_apt_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${petrel_missing_pkgs[*]}"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "petrel: installing Debian packages: ${petrel_missing_pkgs[*]}" >&2
    # postfix asks a debconf question; "No configuration" leaves the system MTA off.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
    (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends "${petrel_missing_pkgs[@]}") >&2 \
      || { echo "petrel: failed: $petrel_apt_cmd" >&2; return 1 2>/dev/null || exit 1; }
  else
    echo "petrel: the tests need Debian packages that are missing. Run as root:" >&2
    echo "  $petrel_apt_cmd" >&2
    return 1 2>/dev/null || exit 1
  fi
fi

# Helm 4 for helm/petrel's tests (helm lint, helm template), from the Go module proxy.
petrel_gobin="$(command -v go >/dev/null 2>&1 && go env GOPATH || echo "$HOME/go")/bin"
if ! command -v helm >/dev/null 2>&1 && [ ! -x "$petrel_gobin/helm" ]; then
  petrel_go="$(command -v go || echo /usr/local/go/bin/go)"
  if [ -x "$petrel_go" ]; then
    echo "petrel: installing helm: go install helm.sh/helm/v4/cmd/helm@v4.3.1" >&2
    "$petrel_go" install helm.sh/helm/v4/cmd/helm@v4.3.1 >&2 \
      || { echo "petrel: failed: go install helm.sh/helm/v4/cmd/helm@v4.3.1" >&2; return 1 2>/dev/null || exit 1; }
  else
    echo "petrel: the chart tests need helm: go install helm.sh/helm/v4/cmd/helm@v4.3.1" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
