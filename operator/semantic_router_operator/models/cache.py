"""The semantic cache section of the router configuration: in-memory, Redis, Valkey, Milvus,
Qdrant, hybrid."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    model_validator,
)

from semantic_router_operator.models.base import (
    SECRET_KEY,
    ConfigModel,
    DnsSubdomain,
    Port,
    Ratio,
)
from semantic_router_operator.models.rules import (
    RULE_CACHE_ONE_BACKEND,
    RULE_HYBRID_MILVUS,
    RULE_MILVUS_HOST,
    RULE_MILVUS_NO_TLS,
    RULE_QDRANT_HOST,
    RULE_REDIS_HOST,
    RULE_REDIS_NO_TLS,
    RULE_VALKEY_HOST,
    RULE_VALKEY_NO_TLS,
    _rules,
)


class SecretKeyRef(ConfigModel):
    """A key of a Secret in the SemanticRouter's namespace. The value is never read by the
    operator: it reaches the router as an environment variable bound with secretKeyRef."""

    name: DnsSubdomain = Field(description="Secret name.")
    key: str = Field(
        min_length=1, max_length=253, pattern=SECRET_KEY, description="Key in the Secret."
    )
    optional: bool | None = Field(
        None,
        description="true starts the router even when the Secret or key is missing (the "
        "credential is then empty); by default the pod waits for the Secret.",
    )


class CacheTLSConfig(ConfigModel):
    """TLS to the cache backend."""

    enabled: bool | None = Field(None, description="Connect with TLS.")
    cert_file: str | None = Field(None, description="Client certificate path inside the pod.")
    key_file: str | None = Field(None, description="Client key path inside the pod.")
    ca_file: str | None = Field(None, description="CA bundle path inside the pod.")


class RedisConnection(ConfigModel):
    """How the router reaches Redis."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_REDIS_NO_TLS))

    host: str | None = Field(
        None,
        max_length=253,
        description="Redis host, e.g. redis.default.svc.cluster.local (required).",
    )
    port: Port | None = Field(None, description="Redis port (6379 when unset).")
    database: int | None = Field(None, ge=0, description="Redis database number.")
    password_secret_ref: SecretKeyRef | None = Field(
        None, description="Secret key holding the Redis password (no plain password field exists)."
    )
    timeout: int | None = Field(None, ge=0, description="Operation timeout in seconds.")
    tls: CacheTLSConfig | None = Field(
        None, description="TLS settings; not supported by the router (v0.4.0): keep it disabled."
    )

    @model_validator(mode="after")
    def _no_tls(self) -> RedisConnection:
        if self.tls and self.tls.enabled:
            raise ValueError(RULE_REDIS_NO_TLS.message)
        return self


class VectorField(ConfigModel):
    """The vector field storing embeddings."""

    name: str | None = Field(None, description="Field name, e.g. embedding.")
    dimension: int | None = Field(
        None, ge=1, description="Embedding size: 384 for bert, 768 for gemma, 1024 for qwen3."
    )
    metric_type: Literal["COSINE", "IP", "L2"] | None = Field(
        None, description="Similarity metric: COSINE, IP (inner product) or L2."
    )


IndexParams = Annotated[
    dict[str, int],
    Field(description="Index parameters, e.g. {M: 16, efConstruction: 64} for HNSW."),
]


class RedisIndex(ConfigModel):
    """The Redis vector index."""

    name: str | None = Field(None, description="Index name, e.g. semantic_cache_idx.")
    prefix: str | None = Field(None, description='Key prefix, e.g. "cache:".')
    vector_field: VectorField | None = Field(None, description="Vector field settings.")
    index_type: Literal["HNSW", "FLAT"] | None = Field(None, description="Index algorithm.")
    params: IndexParams | None = None


class RedisSearch(ConfigModel):
    """Redis search settings."""

    topk: int | None = Field(None, ge=1, description="Nearest entries to consider.")


class RedisDevelopment(ConfigModel):
    """Development conveniences."""

    drop_index_on_startup: bool | None = Field(
        None, description="Drop the index at start (tests only)."
    )
    auto_create_index: bool | None = Field(None, description="Create the index if missing.")
    verbose_errors: bool | None = Field(None, description="Log detailed errors.")


class RedisCacheConfig(ConfigModel):
    """Redis (with RediSearch) as the semantic cache store. Redis is not deployed for you."""

    connection: RedisConnection | None = Field(None, description="Connection settings.")
    index: RedisIndex | None = Field(None, description="Vector index settings.")
    search: RedisSearch | None = Field(None, description="Search settings.")
    development: RedisDevelopment | None = Field(None, description="Development settings.")


class ValkeyConnection(RedisConnection):
    """How the router reaches Valkey."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_VALKEY_NO_TLS))

    host: str | None = Field(
        None,
        max_length=253,
        description="Valkey host, e.g. valkey.default.svc.cluster.local (required).",
    )
    password_secret_ref: SecretKeyRef | None = Field(
        None,
        description="Secret key holding the Valkey password (no plain password field exists).",
    )

    @model_validator(mode="after")
    def _no_tls(self) -> ValkeyConnection:
        if self.tls and self.tls.enabled:
            raise ValueError(RULE_VALKEY_NO_TLS.message)
        return self


class ValkeyCacheConfig(ConfigModel):
    """Valkey (with its search module) as the response cache store. Valkey is not deployed
    for you."""

    connection: ValkeyConnection | None = Field(None, description="Connection settings.")
    index: RedisIndex | None = Field(None, description="Vector index settings.")
    search: RedisSearch | None = Field(None, description="Search settings.")
    development: RedisDevelopment | None = Field(None, description="Development settings.")


class QdrantCacheConfig(ConfigModel):
    """Qdrant as the response cache store. Qdrant is not deployed for you."""

    host: str | None = Field(
        None,
        max_length=253,
        description="Qdrant host, e.g. qdrant.default.svc.cluster.local (required).",
    )
    port: Port | None = Field(None, description="Qdrant gRPC port (6334 when unset).")
    api_key: str | None = Field(
        None,
        description='Only "" or a ${ENV} reference: a literal key would land in a ConfigMap; '
        "use api_key_secret_ref.",
    )
    api_key_secret_ref: SecretKeyRef | None = Field(
        None,
        description="Secret key holding the Qdrant API key; it reaches the router as an "
        "environment variable bound with secretKeyRef.",
    )
    use_tls: bool | None = Field(None, description="Connect to Qdrant with TLS.")
    collection_name: str | None = Field(None, description="Collection, e.g. semantic_cache.")
    connect_timeout: int | None = Field(None, ge=0, description="Connect timeout in seconds.")


class MilvusAuth(ConfigModel):
    """Milvus authentication."""

    enabled: bool | None = Field(None, description="Authenticate to Milvus.")
    username: str | None = Field(None, description="Milvus user, e.g. root.")
    password_secret_ref: SecretKeyRef | None = Field(
        None, description="Secret key holding the Milvus password (no plain password field exists)."
    )


class MilvusConnection(ConfigModel):
    """How the router reaches Milvus."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_MILVUS_NO_TLS))

    host: str | None = Field(
        None,
        max_length=253,
        description="Milvus host, e.g. milvus-standalone.default.svc.cluster.local (required).",
    )
    port: Port | None = Field(None, description="Milvus port (19530 when unset).")
    database: str | None = Field(
        None,
        max_length=255,
        description="Milvus database. The router (v0.4.0) always uses `default`: another "
        "value is accepted and left out of the router configuration.",
    )
    timeout: int | None = Field(None, ge=0, description="Operation timeout in seconds.")
    auth: MilvusAuth | None = Field(
        None,
        description="Authentication. The router (v0.4.0) connects to Milvus without "
        "credentials: auth is accepted and left out of the router configuration (no Secret is "
        "read); restrict access to Milvus with a NetworkPolicy.",
    )
    tls: CacheTLSConfig | None = Field(
        None, description="TLS settings; not supported by the router (v0.4.0): keep it disabled."
    )

    @model_validator(mode="after")
    def _router_supports(self) -> MilvusConnection:
        if self.tls and self.tls.enabled:
            raise ValueError(RULE_MILVUS_NO_TLS.message)
        return self


class MilvusIndex(ConfigModel):
    """The Milvus collection index."""

    type: Literal["HNSW", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "FLAT", "AUTOINDEX"] | None = Field(
        None, description="Index algorithm."
    )
    params: IndexParams | None = None


class MilvusCollection(ConfigModel):
    """The Milvus collection holding cache entries."""

    name: str | None = Field(None, description="Collection name, e.g. semantic_cache.")
    description: str | None = Field(None, description="Collection description.")
    vector_field: VectorField | None = Field(None, description="Vector field settings.")
    index: MilvusIndex | None = Field(None, description="Index settings.")


class MilvusSearch(ConfigModel):
    """Milvus search settings."""

    params: dict[str, int] | None = Field(None, description="Search parameters, e.g. {ef: 64}.")
    topk: int | None = Field(None, ge=1, description="Nearest entries to consider.")
    consistency_level: Literal["Strong", "Session", "Bounded", "Eventually"] | None = Field(
        None, description="Read consistency."
    )


class MilvusConnectionPool(ConfigModel):
    """Connection pool sizing."""

    max_connections: int | None = Field(None, ge=1, description="Pool size.")
    max_idle_connections: int | None = Field(None, ge=0, description="Idle connections kept.")
    acquire_timeout: int | None = Field(None, ge=0, description="Seconds to wait for a connection.")


class MilvusBatch(ConfigModel):
    """Batch operation settings."""

    insert_batch_size: int | None = Field(None, ge=1, description="Entries per insert batch.")
    timeout: int | None = Field(None, ge=0, description="Batch timeout in seconds.")


class MilvusPerformance(ConfigModel):
    """Performance tuning."""

    connection_pool: MilvusConnectionPool | None = Field(None, description="Connection pool.")
    batch: MilvusBatch | None = Field(None, description="Batching.")


class MilvusTTL(ConfigModel):
    """Expiry of cache entries in Milvus."""

    enabled: bool | None = Field(None, description="Expire old entries.")
    timestamp_field: str | None = Field(None, description="Timestamp field, e.g. created_at.")
    cleanup_interval: int | None = Field(None, ge=0, description="Seconds between cleanups.")


class MilvusCompaction(ConfigModel):
    """Automatic compaction."""

    enabled: bool | None = Field(None, description="Compact periodically.")
    interval: int | None = Field(None, ge=0, description="Seconds between compactions.")


class MilvusDataManagement(ConfigModel):
    """Data lifecycle."""

    ttl: MilvusTTL | None = Field(None, description="Entry expiry.")
    compaction: MilvusCompaction | None = Field(None, description="Compaction.")


class MilvusDevelopment(ConfigModel):
    """Development conveniences."""

    drop_collection_on_startup: bool | None = Field(
        None, description="Drop the collection at start (tests only)."
    )
    auto_create_collection: bool | None = Field(
        None, description="Create the collection if missing."
    )
    verbose_errors: bool | None = Field(None, description="Log detailed errors.")


class MilvusCacheConfig(ConfigModel):
    """Milvus as the semantic cache store (also the persistent tier of the hybrid backend).
    Milvus is not deployed for you."""

    connection: MilvusConnection | None = Field(None, description="Connection settings.")
    collection: MilvusCollection | None = Field(None, description="Collection settings.")
    search: MilvusSearch | None = Field(None, description="Search settings.")
    performance: MilvusPerformance | None = Field(None, description="Performance tuning.")
    data_management: MilvusDataManagement | None = Field(None, description="Data lifecycle.")
    development: MilvusDevelopment | None = Field(None, description="Development settings.")


class HNSWConfig(ConfigModel):
    """The in-memory HNSW index (memory and hybrid backends)."""

    use_hnsw: bool | None = Field(None, description="Index cached entries with HNSW.")
    hnsw_m: int | None = Field(
        None, ge=2, description="Links per node; higher is better recall, more memory."
    )
    hnsw_ef_construction: int | None = Field(
        None, ge=1, description="Candidate list size while building."
    )
    max_memory_entries: int | None = Field(
        None, ge=0, description="Entries kept in memory (hybrid)."
    )


class SemanticCacheConfig(ConfigModel):
    """Semantic cache of responses to similar prompts."""

    model_config = ConfigDict(
        json_schema_extra=_rules(
            RULE_REDIS_HOST,
            RULE_VALKEY_HOST,
            RULE_QDRANT_HOST,
            RULE_MILVUS_HOST,
            RULE_HYBRID_MILVUS,
            RULE_CACHE_ONE_BACKEND,
        )
    )

    enabled: bool | None = Field(None, description="Turn the semantic cache on.")
    backend_type: Literal["memory", "redis", "valkey", "milvus", "qdrant", "hybrid"] = Field(
        "memory",
        description="Where entries live: memory (in the pod), redis, valkey, milvus, qdrant, "
        "or hybrid (in-memory HNSW over Milvus).",
    )
    similarity_threshold: Ratio | None = Field(
        None, description='Similarity needed for a cache hit, 0 to 1 (0.8 or "0.8").'
    )
    max_entries: int | None = Field(
        None,
        ge=0,
        description="Maximum cached entries (memory); left out for hybrid, which caps its "
        "in-memory index itself.",
    )
    ttl_seconds: int | None = Field(None, ge=0, description="Entry lifetime in seconds.")
    eviction_policy: Literal["fifo", "lru", "lfu"] | None = Field(
        None, description="Eviction order of the memory backend."
    )
    embedding_model: str | None = Field(
        None,
        max_length=63,
        description="Embedding model for similarity: bert (384 dimensions), qwen3 (1024) or "
        "gemma (768); match the vector dimension of the store.",
    )
    hnsw: HNSWConfig | None = Field(None, description="In-memory HNSW index settings.")
    redis: RedisCacheConfig | None = Field(None, description="Redis store (backend_type redis).")
    valkey: ValkeyCacheConfig | None = Field(
        None, description="Valkey store (backend_type valkey)."
    )
    qdrant: QdrantCacheConfig | None = Field(
        None, description="Qdrant store (backend_type qdrant)."
    )
    milvus: MilvusCacheConfig | None = Field(
        None, description="Milvus store (backend_type milvus or hybrid)."
    )

    @model_validator(mode="after")
    def _backend_has_host(self) -> SemanticCacheConfig:
        redis_host = self.redis and self.redis.connection and self.redis.connection.host
        valkey_host = self.valkey and self.valkey.connection and self.valkey.connection.host
        milvus_host = self.milvus and self.milvus.connection and self.milvus.connection.host
        if self.backend_type == "redis" and not redis_host:
            raise ValueError(RULE_REDIS_HOST.message)
        if self.backend_type == "valkey" and not valkey_host:
            raise ValueError(RULE_VALKEY_HOST.message)
        if self.backend_type == "qdrant" and not (self.qdrant and self.qdrant.host):
            raise ValueError(RULE_QDRANT_HOST.message)
        if self.backend_type == "milvus" and not milvus_host:
            raise ValueError(RULE_MILVUS_HOST.message)
        if self.backend_type == "hybrid" and not milvus_host:
            raise ValueError(RULE_HYBRID_MILVUS.message)
        stray = [
            name
            for name, block in (
                ("redis", self.redis),
                ("valkey", self.valkey),
                ("qdrant", self.qdrant),
            )
            if block is not None and self.backend_type != name
        ]
        if stray or (self.milvus is not None and self.backend_type not in ("milvus", "hybrid")):
            raise ValueError(RULE_CACHE_ONE_BACKEND.message)
        return self
