#!/usr/bin/env bash
# Load figures of docs/serving.md: `mlpipelines serve` (engine pool and batched scoring) against the stock-ML.NET
# sample app (samples/StockServing) on the same models, in one run, 127.0.0.1 only, 1 and 4 concurrent clients.
#   Benchmarks/serving/run-load.sh M1_RUN M3_TRANSFER_RUN M3_KNN_RUN IMAGE
# Request counts: N_M1 (default 2000), N_M3 (default 1000), N_SIMILAR (default 300).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -eq 4 ] || { echo "usage: $0 M1_RUN M3_TRANSFER_RUN M3_KNN_RUN IMAGE" >&2; exit 2; }
m1=$1 m3=$2 knn=$3 image=$4
n_m1=${N_M1:-2000} n_m3=${N_M3:-1000} n_similar=${N_SIMILAR:-300}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

for p in Pipelines/MLPipelines.Cli samples/StockServing Benchmarks/MLPipelines.Benchmarks; do
    dotnet build "$p" -c Release -v quiet -nologo >/dev/null
done
cli=Pipelines/MLPipelines.Cli/bin/Release/net10.0/mlpipelines.dll
stock=samples/StockServing/bin/Release/net10.0/StockServing.dll
load=Benchmarks/MLPipelines.Benchmarks/bin/Release/net10.0/MLPipelines.Benchmarks.dll
port=5801
server=""
stop_server() { if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; fi; }
trap stop_server EXIT

# run LABEL N PATH EXTRA_LOAD_ARGS -- SERVER COMMAND...
run() {
    local label=$1 n=$2 path=$3 extra=$4; shift 5
    port=$((port + 1))
    "$@" "http://127.0.0.1:$port" >/tmp/mlpipelines-serve-load.log 2>&1 &
    server=$!
    for _ in $(seq 120); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.5; done
    dotnet "$load" serve-load --url "http://127.0.0.1:$port" --path "$path" --image "$image" --requests "$n" --clients 1,4 \
        --pid "$server" --label "$label" $extra | grep -v '^| server' || echo "| $label | load FAILED |"
    stop_server
}

echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); image $image"
echo "| server / endpoint | clients | requests | errors | requests/s | p50 ms | p99 ms | server RSS MB (peak) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
run "serve m1 /predict (pool)"        "$n_m1" /predict "--check-bad" -- dotnet "$cli" serve --model "$m1" --urls
run "serve m1 /predict (batch)"       "$n_m1" /predict "" -- dotnet "$cli" serve --model "$m1" --scoring batch --urls
run "stock sample m1 /predict"        "$n_m1" /predict "" -- dotnet "$stock" "$m1/model.zip"
run "serve m3-transfer /predict (pool)"  "$n_m3" /predict "" -- dotnet "$cli" serve --model "$m3" --urls
run "serve m3-transfer /predict (batch)" "$n_m3" /predict "" -- dotnet "$cli" serve --model "$m3" --scoring batch --urls
run "stock sample m3-transfer /predict"  "$n_m3" /predict "" -- dotnet "$stock" "$m3/model.zip"
run "serve m1 + index /similar?k=8 (pool)"  "$n_similar" "/similar?k=8" "--check-bad" -- dotnet "$cli" serve --model "$m1" --index "$knn" --urls
run "serve m1 + index /similar?k=8 (batch)" "$n_similar" "/similar?k=8" "" -- dotnet "$cli" serve --model "$m1" --index "$knn" --scoring batch --urls
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
