"""The programme's documents: the rule book and the health weights (one aggregate each in
``programme``, every version an entry in ``rulebook_versions``), and the budget per period
(``budgets``). Their indexes are made by ``codec.ensure_indexes``. Rule books and weights
travel as JSON text: their rules are lists of sub-documents, which the portable subset keeps
out of stored arrays."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from crm_loyalty.budget import Budget
from crm_loyalty.codec import BUDGETS, PROGRAMME, RULEBOOK_VERSIONS
from crm_loyalty.rulebook import RuleBook
from crm_loyalty.weights import HealthWeights
from crm_runtime.store import Backend
from crm_runtime.timestamps import stamp, stamp_tree, unstamp


class RuleBookCodec:
    """The current rule book (one aggregate, ``_id`` = ``earning-rules``) and each stored
    version as an entry (``rules-v<N>``). The book travels as JSON text: its rules are a
    list of sub-documents, which the portable subset keeps out of arrays."""

    collection = PROGRAMME

    def encode(self, book: RuleBook) -> dict[str, Any]:
        return {"rules_version": book.version, "book": book.model_dump_json()}

    def decode(self, doc: dict[str, Any]) -> RuleBook:
        return RuleBook.model_validate_json(doc["book"])

    def entry(self, book: RuleBook) -> tuple[str, dict[str, Any]]:
        return RULEBOOK_VERSIONS, {
            "_id": f"rules-v{book.version}",
            "scope": "earning",
            "version": book.version,
            "created_at": stamp(book.created_at),
            "created_by": book.created_by,
            "book": book.model_dump_json(),
        }


class BudgetCodec:
    """The programme's budget of one period (``budget-<period>``); reservations by event."""

    collection = BUDGETS

    def encode(self, budget: Budget) -> dict[str, Any]:
        return dict(stamp_tree(asdict(budget)))

    def decode(self, doc: dict[str, Any]) -> Budget:
        return Budget(
            period=doc["period"],
            limit=int(doc["limit"]),
            granted=int(doc["granted"]),
            until=unstamp(doc["until"]),
            reservations={k: int(v) for k, v in (doc.get("reservations") or {}).items()},
        )

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise TypeError("budgets append no entries")


class WeightsCodec:
    """The health score's current weights (``health-weights``) and each version as an
    entry (``weights-v<N>``, beside the rule book's versions)."""

    collection = PROGRAMME

    def encode(self, weights: HealthWeights) -> dict[str, Any]:
        return {"weights_version": weights.version, "weights": weights.model_dump_json()}

    def decode(self, doc: dict[str, Any]) -> HealthWeights:
        return HealthWeights.model_validate_json(doc["weights"])

    def entry(self, weights: HealthWeights) -> tuple[str, dict[str, Any]]:
        return RULEBOOK_VERSIONS, {
            "_id": f"weights-v{weights.version}",
            "scope": "health",
            "version": weights.version,
            "created_at": stamp(weights.created_at),
            "created_by": weights.created_by,
            "weights": weights.model_dump_json(),
        }


async def weights_versions(backend: Backend, *, limit: int) -> list[HealthWeights]:
    docs = await backend.page(
        RULEBOOK_VERSIONS,
        equals={"scope": "health"},
        newest_by="created_at",
        before=None,
        limit=limit,
    )
    return [HealthWeights.model_validate_json(doc["weights"]) for doc in docs]


async def rulebook_versions(backend: Backend, *, limit: int) -> list[RuleBook]:
    """Stored versions, newest first."""
    docs = await backend.page(
        RULEBOOK_VERSIONS,
        equals={"scope": "earning"},
        newest_by="created_at",
        before=None,
        limit=limit,
    )
    return [RuleBook.model_validate_json(doc["book"]) for doc in docs]


async def rulebook_version(backend: Backend, version: int) -> RuleBook | None:
    found = (await backend.load(RULEBOOK_VERSIONS, [f"rules-v{version}"])).get(f"rules-v{version}")
    return None if found is None else RuleBook.model_validate_json(found["book"])
