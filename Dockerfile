# Cognate in a container: one image for nodes and fronts (Cluster/kubernetes/).
#   docker build -t cognate .
# Build stage: the Swift toolchain and the headers of LMDB and OpenSSL.
FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends liblmdb-dev libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY Cluster ./Cluster
# The Swift runtime goes into the binary, so the runtime image needs no toolchain.
# The managed login's page templates ship beside the binary (cognate_Front.resources).
RUN swift build -c release --product cognate --static-swift-stdlib \
 && bin="$(swift build -c release --show-bin-path)" \
 && install -D "$bin/cognate" /out/cognate \
 && cp -r "$bin/cognate_Front.resources" /out/

# Runtime stage: the binary and the shared libraries it links (LMDB, libcrypto, libcurl
# for Foundation's networking), nothing else.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends liblmdb0 libssl3 libcurl4 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/cognate --create-home cognate
COPY --from=build /out/cognate /usr/local/bin/cognate
COPY --from=build /out/cognate_Front.resources /usr/local/bin/cognate_Front.resources
USER 10001
EXPOSE 7101 7201 9229
ENTRYPOINT ["cognate"]
CMD ["--help"]
