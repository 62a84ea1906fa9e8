# The Cloister enclave image: turned into an EIF by `cloister build` (or `nitro-cli build-enclave`;
# see deploy/README.md). Anyone rebuilding the same commit gets the same files, so the same PCRs:
# both base images are pinned by digest through build arguments; npm installs exactly the lockfile,
# and scripts/check-install.js stops the build when it did not; no secret is used; every file and
# directory the final stage adds, /app included, is laid down by scripts/assemble-rootfs.js with the
# time SOURCE_DATE_EPOCH, owner root and fixed modes. No `# syntax=` line: BuildKit would pull that
# frontend by tag. Builds with the classic builder and with BuildKit. Bump a digest deliberately,
# e.g. after
#   docker buildx imagetools inspect node:20-bookworm-slim
#
#   docker build --build-arg SOURCE_DATE_EPOCH=0 --tag cloister-enclave:latest .

# The build stage needs python3, make and a C compiler for node-gyp: the full Debian image has them.
ARG BUILD_IMAGE=node:20-bookworm@sha256:8f693eaa7e0a8e71560c9a82b55fd54c2ae920a2ba5d2cde28bac7d1c01c9ba5
# The runtime: the same Node.js major, without a compiler.
ARG BASE_IMAGE=node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0

FROM ${BUILD_IMAGE} AS build
ARG SOURCE_DATE_EPOCH=0
ENV SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH} \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
WORKDIR /src
# Dependencies first (a layer that changes only with the lockfile), without running any scripts.
COPY package.json package-lock.json ./
COPY scripts/check-install.js scripts/
RUN npm ci --ignore-scripts \
 && node scripts/check-install.js
COPY . .
# Dependencies' own install scripts (cbor-extract, optional), then the native addons of
# binding.gyp (npm's install step: scripts/build-addons.js), then the TypeScript build; then the
# production tree, assembled under /rootfs exactly as it goes into the image.
RUN npm rebuild \
 && npm run install \
 && npm run build \
 && npm prune --omit=dev --ignore-scripts \
 && node scripts/check-install.js --omit=dev \
 && node scripts/assemble-rootfs.js --from /src --out /rootfs/app --manifest /rootfs.manifest

FROM ${BASE_IMAGE}
ARG SOURCE_DATE_EPOCH=0
ENV SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH} \
    NODE_ENV=production
# Only what the supervisor runs: dist/, the production node_modules, build/Release/*.node and
# package.json, as assembled above. No WORKDIR: it would make /app at build time. The tree is
# copied from its parent, /rootfs, so that /app is itself an entry of the copy and keeps the time
# assemble-rootfs gave it: copying to /app would make that directory anew (the classic builder)
# with the time of the build.
COPY --from=build /rootfs/ /
# The enclave's init (PID 1) starts the supervisor as its child with the image's command and
# environment only (it ignores the working directory), so every path is absolute; no shell is
# involved. The supervisor waits for the runtime configuration on vsock port 5002 (pushed by the
# parent), measures it into PCR16 and serves the attested ingress on vsock port 5000.
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/enclave/main.js", "--config-from", "vsock://4294967295:5002", "--log-sink", "vsock://3:5003", "--app-module", "/app/dist/examples/index.js"]
