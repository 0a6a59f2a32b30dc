{{- define "petrel.fullname" -}}{{ printf "%s-petrel" .Release.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- define "petrel.labels" -}}
app.kubernetes.io/name: petrel
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "petrel.selector" -}}
app.kubernetes.io/name: petrel
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
{{- /* "true" when Redis is not the in-chart one: an external URL, in the values or in a Secret */ -}}
{{- define "petrel.redisExternal" -}}
{{- if or .Values.redis.externalUrl .Values.redis.existingSecret -}}true{{- end -}}
{{- end -}}
{{- /* The URL in the ConfigMap; none when a Secret gives it (PETREL_REDIS__URL in each pod) */ -}}
{{- define "petrel.redisUrl" -}}
{{- if .Values.redis.existingSecret -}}
{{- else if .Values.redis.externalUrl -}}{{ .Values.redis.externalUrl }}{{- else -}}redis://{{ include "petrel.fullname" . }}-redis-0.{{ include "petrel.fullname" . }}-redis:6379{{- end -}}
{{- end -}}
{{- define "petrel.check" -}}
{{- $r := .Values.redis -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add1 (int .Values.drainTimeoutSeconds) | int) -}}
{{- fail "terminationGracePeriodSeconds must be longer than drainTimeoutSeconds" -}}
{{- end -}}
{{- if and $r.externalUrl $r.existingSecret -}}
{{- fail "redis.externalUrl and redis.existingSecret: give the URL in one place" -}}
{{- end -}}
{{- if not (include "petrel.redisExternal" .) -}}
{{- if ne $r.internal.maxmemoryPolicy "noeviction" -}}
{{- fail (printf "redis.internal.maxmemoryPolicy %s evicts keys and could lose accepted mail: use noeviction" $r.internal.maxmemoryPolicy) -}}
{{- end -}}
{{- if and (ne $r.durability "none") (or (not $r.internal.persistence.enabled) (ne $r.internal.appendonly "yes")) -}}
{{- fail (printf "redis.durability %s needs redis.internal.persistence.enabled and appendonly yes: without them accepted mail could be lost" $r.durability) -}}
{{- end -}}
{{- if and (eq $r.durability "fsync") (ne $r.internal.appendfsync "always") -}}
{{- fail "redis.durability fsync needs redis.internal.appendfsync always" -}}
{{- end -}}
{{- if and (eq $r.durability "replicas") (lt (int $r.internal.replicas) (int $r.replicas)) -}}
{{- fail "redis.durability replicas needs redis.internal.replicas >= redis.replicas" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) (not .Values.tls.certManager.enabled) -}}
{{- fail "tls.enabled needs tls.existingSecret or tls.certManager.enabled" -}}
{{- end -}}
{{- if and .Values.ingress.service.proxyProtocol (not (and .Values.config.ingress .Values.config.ingress.loadBalancers)) -}}
{{- fail "ingress.service.proxyProtocol needs config.ingress.loadBalancers: the addresses allowed to send PROXY headers" -}}
{{- end -}}
{{- if and .Values.auth.enabled (not .Values.auth.existingSecret) (not .Values.auth.users) -}}
{{- fail "auth.enabled needs auth.existingSecret or auth.users" -}}
{{- end -}}
{{- end -}}
{{- define "petrel.config" -}}
{{- $c := deepCopy .Values.config -}}
{{- $ing := default dict $c.ingress -}}
{{- $lb := default list $ing.loadBalancers -}}
{{- $proxy := .Values.ingress.service.proxyProtocol -}}
{{- $p := .Values.ingress.ports -}}
{{- $_ := set $ing "listeners" (list (dict "host" "0.0.0.0" "port" (int $p.smtp) "proxyProtocol" $proxy) (dict "host" "0.0.0.0" "port" (int $p.submission) "proxyProtocol" $proxy)) -}}
{{- $_ := set $ing "drainTimeout" (printf "%ds" (int .Values.drainTimeoutSeconds)) -}}
{{- /* the routing Service, unless the values name another address (hostNetwork, another namespace) */ -}}
{{- $_ := set $ing "resolve" (merge (default dict $ing.resolve) (dict "address" (printf "%s-routing:50051" (include "petrel.fullname" .)))) -}}
{{- if .Values.tls.enabled -}}{{- $_ := set $ing "tls" (dict "cert" "/etc/petrel/tls/tls.crt" "key" "/etc/petrel/tls/tls.key") -}}{{- end -}}
{{- if .Values.auth.enabled -}}{{- $_ := set $ing "auth" (dict "usersFile" "/etc/petrel/auth/users") -}}{{- end -}}
{{- $_ := set $c "ingress" $ing -}}
{{- $rt := default dict $c.routing -}}
{{- $_ := set $rt "grpc" (dict "host" "0.0.0.0" "port" (int .Values.routing.ports.grpc)) -}}
{{- $_ := set $rt "drainTimeout" (printf "%ds" (int .Values.drainTimeoutSeconds)) -}}
{{- $_ := set $c "routing" $rt -}}
{{- $eg := default dict $c.egress -}}
{{- $_ := set $eg "drainTimeout" (printf "%ds" (int .Values.drainTimeoutSeconds)) -}}
{{- $_ := set $c "egress" $eg -}}
{{- /* metrics.port differs per component: each Deployment sets PETREL_METRICS__PORT */ -}}
{{- $_ := set $c "metrics" (dict "host" "0.0.0.0" "port" (int .Values.ingress.ports.metrics)) -}}
{{- $_ := set $c "admin" (dict "host" .Values.admin.host "port" (int .Values.routing.ports.admin)) -}}
{{- $_ := set $c "redis" (dict "url" ((include "petrel.redisUrl" .) | default nil) "durability" .Values.redis.durability "replicas" (int .Values.redis.replicas) "shards" (int .Values.redis.shards)) -}}
{{- toYaml $c -}}
{{- end -}}

{{- /*
What a component reads of the configuration that it cannot reload in place: a
change to it must roll the component's pods (the checksum/config annotation).
The keys each service reads and reloads are INGRESS_RELOAD and ROUTING_RELOAD
in apps/ingress/src/create-ingress.ts and apps/routing/src/create-routing.ts;
egress reloads nothing and reads redis, egress, metrics, log, routing.dns and
ingress.hostname (apps/egress/src/create-egress.ts).
*/ -}}
{{- define "petrel.restartChecksum" -}}
{{- $c := include "petrel.config" .root | fromYaml -}}
{{- $log := omit (default dict $c.log) "level" -}}
{{- $read := dict -}}
{{- if eq .component "ingress" -}}
{{- $ing := omit $c.ingress "trustedNetworks" "relayDomains" "tls" -}}
{{- if $ing.auth }}{{ $_ := set $ing "auth" (omit $ing.auth "usersFile") }}{{ end -}}
{{- $read = dict "redis" $c.redis "ingress" $ing "metrics" $c.metrics "log" $log -}}
{{- else if eq .component "routing" -}}
{{- $egress := default dict $c.egress -}}
{{- $read = dict "redis" $c.redis "hostname" $c.ingress.hostname "routing" (omit $c.routing "transports" "lists") "retry" $egress.retry "metrics" $c.metrics "admin" $c.admin "log" $log -}}
{{- else -}}
{{- $rt := default dict $c.routing -}}
{{- $read = dict "redis" $c.redis "hostname" $c.ingress.hostname "egress" $c.egress "dns" $rt.dns "metrics" $c.metrics "log" $c.log -}}
{{- end -}}
{{- toYaml $read | sha256sum -}}
{{- end -}}
