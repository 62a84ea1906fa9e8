# The parent-side image for Kubernetes: nitro-cli, Node.js and Cloister's built code, with the EIF
# made by `cloister build` on the build host. Build it from the checkout after `cloister build`:
#   docker build -f deploy/kubernetes/parent.Dockerfile \
#     --build-arg CLOISTER_IMAGE=cloister-enclave:latest -t cloister-parent:<tag> .
# (CLOISTER_IMAGE is the enclave image cloister build made: its /app is reused, addons included.)
ARG CLOISTER_IMAGE=cloister-enclave:latest
ARG PARENT_BASE=public.ecr.aws/amazonlinux/amazonlinux:2023
FROM ${CLOISTER_IMAGE} AS app

FROM ${PARENT_BASE}
RUN dnf install -y aws-nitro-enclaves-cli && dnf clean all
COPY --from=app /usr/local/bin/node /usr/local/bin/node
COPY --from=app /app/ /opt/cloister/app/
COPY eif/cloister.eif eif/pcrs.json eif/policy.json /opt/cloister/eif/
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_ENV=production
WORKDIR /opt/cloister/app
ENTRYPOINT []
