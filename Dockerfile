# GanBertBots GPU image. Not buildable on the development machines (no Docker engine there,
# and TorchSharp-cuda-linux is not served by their package mirror); build it where NuGet.org
# and Docker are reachable:  docker build -t ganbertbots .
#
# Stage 1: publish self-contained with the CUDA build of TorchSharp (-p:TorchBackend=cuda).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props GanBertBots.sln ./
COPY build/ build/
COPY src/ src/
# The test doubles that `bench bots` runs on (the Host references this one test-side project; no test framework).
COPY tests/GanBertBots.Testing/ tests/GanBertBots.Testing/
COPY appsettings.json ./
RUN dotnet publish src/GanBertBots.Host/GanBertBots.Host.csproj -c Release -r linux-x64 --self-contained \
      -p:TorchBackend=cuda -o /app

# Stage 2: the NVIDIA CUDA runtime (libtorch 2.10 CUDA wants CUDA 12.8) with a non-root user.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libicu74 libgomp1 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 ganbert
WORKDIR /app
COPY --from=build --chown=ganbert:ganbert /app ./
RUN mkdir -p /app/models /app/data && chown ganbert:ganbert /app/models /app/data
USER ganbert
# Inference:Device picks the GPU (auto: CUDA when present). Host:Urls is the one listener: health, metrics and the
# bots' webhooks; in a container it must listen on all interfaces.
ENV DOTNET_ENVIRONMENT=Production \
    Inference__Device=auto \
    Models__Generator=/app/models/generator \
    Models__Detector=/app/models/detector \
    Retraining__RegistryRoot=/app/models/registry \
    Retraining__ScratchRoot=/app/models/scratch \
    Storage__DataDirectory=/app/data \
    Host__Urls=http://0.0.0.0:8080
EXPOSE 8080
VOLUME ["/app/models", "/app/data"]
# Liveness: the process answers and its inference worker thread runs (/readyz is for the load balancer).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/app/ganbertbots"]
CMD ["run"]
