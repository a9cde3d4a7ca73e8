# SPDX-License-Identifier: Apache-2.0
# kedastral-scaler image: built on Debian 12 from its own -dev packages, run on debian:12-slim as
# UID 65532 with the plugins in /usr/lib/kedastral-scaler/plugins and the TLS module (OpenSSL,
# loaded only when TLS is configured) in /usr/lib/kedastral-scaler/kedastral-tls.so. Without
# arguments it runs in upstream mode (SCALER_LISTEN, FORECASTER_URL, LEAD_TIME), a drop-in for
# the Go scaler image;
# `--config /etc/kedastral-scaler/kedastral-scaler.conf` runs the bundled file-replay demo.

FROM debian:12 AS build
# The build-only part of scripts/install-deps.sh (no test tools).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config \
        libevent-dev libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler \
        libconfig-dev libcurl4-openssl-dev libcjson-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# SYSCONFDIR=/etc: the sample configuration in /etc/kedastral-scaler, not /usr/etc.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DKD_BUILD_TESTS=OFF \
        -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_SYSCONFDIR=/etc \
    && cmake --build /build -j"$(nproc)" \
    && DESTDIR=/out cmake --install /build --strip \
    && /out/usr/bin/kedastral-scaler --version \
    && test -f /out/usr/lib/kedastral-scaler/plugins/policy-max.so \
    && test -f /out/usr/lib/kedastral-scaler/kedastral-tls.so

FROM debian:12-slim
# Runtime libraries only; ca-certificates for https forecasters.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates libevent-core-2.1-7 libevent-extra-2.1-7 libnghttp2-14 libprotobuf-c1 \
        libconfig9 libcjson1 libcurl4 libevent-openssl-2.1-7 libssl3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/usr/bin/kedastral-scaler /usr/bin/kedastral-scaler
COPY --from=build /out/usr/lib/kedastral-scaler/ /usr/lib/kedastral-scaler/
COPY --from=build /out/etc/kedastral-scaler/ /etc/kedastral-scaler/
# Fails the build if a library is missing from the list above: every plugin is loaded once,
# and the TLS module's libraries (libssl3, libevent-openssl) must all resolve.
RUN set -e; \
    for so in /usr/lib/kedastral-scaler/plugins/*.so; do \
        /usr/bin/kedastral-scaler --describe "$(basename "$so" .so)" >/dev/null; \
    done; \
    if ldd /usr/lib/kedastral-scaler/kedastral-tls.so | grep 'not found'; then exit 1; fi; \
    /usr/bin/kedastral-scaler --check-config --config /etc/kedastral-scaler/kedastral-scaler.conf
USER 65532:65532
EXPOSE 50051 8082
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/kedastral-scaler"]
