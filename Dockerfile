# CUDA-capable image with molmo installed; `molmo` is the entrypoint.
#   docker build -t molmo .
#   docker run --gpus all -v $PWD:/work -w /work molmo predict image.jpg "Describe this image." --model /work/ckpt
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip python3-dev build-essential git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/molmo
COPY pyproject.toml README.md ./
COPY molmo ./molmo
COPY molmo_cli ./molmo_cli
COPY recipes ./recipes
# On Linux x86_64 the default torch wheel is the CUDA build; no constraint file here.
RUN pip3 install --upgrade pip && pip3 install -e ".[video,tensorboard]"

ENTRYPOINT ["molmo"]
CMD ["--help"]
