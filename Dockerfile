# One image for the gateway and every worker (docker-compose.yml picks the command).
# Not built in CI: the CI machine has no Docker engine. Secrets come from the environment
# at run time (docker-compose.yml reads them from .env); none is baked into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AMIP_DATA_DIR=/var/lib/amip \
    AMIP_PROMPTS_DIR=/app/prompts

RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/amip amip

WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY workers ./workers
COPY migrations ./migrations
RUN pip install . && rm -rf build *.egg-info
# Prompts are data read at run time (AMIP_PROMPTS_DIR), not part of the installed package.
COPY prompts ./prompts
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh

USER amip
VOLUME ["/var/lib/amip"]
EXPOSE 8000
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["amip", "serve", "--host", "0.0.0.0", "--port", "8000"]
