#!/usr/bin/env bash
# The container image's tests (deploy/test/image.spec.ts, and the Helm chart's
# workloads played with podman: kube-play.spec.ts), as their own CI step:
# podman's settings (setup-podman.sh), the base stand-in and the image (built
# when missing, else reused), then the test with PETREL_IMAGE_TESTS=1.
# `npm test` skips that file. Root only. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/ensure-node.sh
source scripts/ensure-node.sh >/dev/null
deploy/image/setup-podman.sh
# Rebuild the image from the current tree (layers are cached): a stale image
# from an earlier tree would otherwise be tested.
bash deploy/image/build.sh
cd deploy
PETREL_IMAGE_TESTS=1 npx vitest run test/image.spec.ts test/kube-play.spec.ts
