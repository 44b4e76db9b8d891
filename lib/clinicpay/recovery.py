"""`clinicpay relay republish` and `clinicpay consumers forget-offsets`: rebuilding lost
topics from the event stores. Each service's `cli` module may declare
`republish(from_position) -> str` (its relays) and `forget_consumer_offsets() -> str`
(its consumers); these commands run every one declared and print what each did.
"""

from __future__ import annotations

import asyncio

from clinicpay.suite import service_modules


def republish(from_position: int, services: list[str] | None = None) -> list[str]:
    return asyncio.run(_republish(from_position, services))


def forget_consumer_offsets(services: list[str] | None = None) -> list[str]:
    return asyncio.run(_each("forget_consumer_offsets", services))


async def _republish(from_position: int, services: list[str] | None) -> list[str]:
    from clinicpay.settings import ServiceSettings
    from eventbus.topics import ensure_topics

    settings = ServiceSettings()
    # A new cluster has no topics yet: make them before the relays publish into it.
    await ensure_topics(settings.kafka_bootstrap_servers, partitions=settings.topic_partitions)
    return await _each("republish", services, from_position)


async def _each(hook: str, services: list[str] | None, *args) -> list[str]:
    """Run `hook` of every service (or of `services`), each with its own settings."""
    done = []
    for module in service_modules():
        service = module.__name__.split(".")[0]
        action = getattr(module, hook, None)
        if action is not None and (not services or service in services):
            done.append(f"{service}: {await action(*args)}")
    return done
