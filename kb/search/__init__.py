"""Finding passages: the store (embedded or server), the in-memory snapshot, the sparse side, fusion, caches."""
