# The billing-operator image. Multi-stage: Debian 12 with the build dependencies compiles the
# binary; the runtime stage is debian:12-slim with only the shared libraries the binary links
# (checked with ldd) and CA certificates, running as the non-root user 65532.
#
#   docker build -t billing-operator:0.1.0 .
#
# Docker cannot run on the project's build machines: this file is kept plain and reviewed, not
# built in CI there (docs/install.md).

FROM debian:12 AS build
WORKDIR /src
# install-deps.sh first, on its own, so the layer is cached while sources change.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBILLING_BUILD_TESTS=OFF -DBILLING_WERROR=ON \
 && cmake --build /build --target billing-operator -j"$(nproc)" \
 && strip /build/bin/billing-operator

FROM debian:12-slim
# libcpprest2.10 (HTTP, JSON), libyaml-cpp0.7 (manifests, kubeconfig), libssl3 (TLS);
# ca-certificates for an HTTPS ledger verified against the system store.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcpprest2.10 libyaml-cpp0.7 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/bin/billing-operator /usr/local/bin/billing-operator
# The same numeric user as distroless "nonroot": runAsNonRoot can verify it without a passwd entry.
USER 65532:65532
EXPOSE 8080 8081 9443
ENTRYPOINT ["/usr/local/bin/billing-operator"]
CMD ["run"]
