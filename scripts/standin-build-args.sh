#!/usr/bin/env bash
# Prints the `cloister build` flags that use the stand-in base images `npm run test:image` made in
# the engine `docker` reaches (the newest of each), for a machine that cannot pull the pinned
# node:20 images:
#   npx cloister build --network none $(bash scripts/standin-build-args.sh) …
# The images are passed by ID, which names their content as a registry digest would.
set -euo pipefail
newest() {
  docker images --no-trunc --format '{{.Repository}} {{.ID}}' | awk -v repo="$1" '$1 == repo { print $2; exit }'
}
build=$(newest cloister-test-node-build)
base=$(newest cloister-test-node-base)
if [ -z "$build" ] || [ -z "$base" ]; then
  echo "standin-build-args: no stand-in images in the engine that docker reaches; run npm run test:image first (with DOCKER_HOST set to that engine)" >&2
  exit 2
fi
echo "--docker-build-arg BUILD_IMAGE=$build --docker-build-arg BASE_IMAGE=$base"
