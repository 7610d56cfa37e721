/* The LMDB floor: durable single-put commits straight through liblmdb, with the flags and
 * shapes `cognate bench storage` uses (MDB_NOTLS, fsync on commit, 8-byte big-endian keys,
 * 100-byte values, a fresh environment). Prints one JSON object.
 *
 *   cc -O2 -o lmdb_floor lmdb_floor.c -llmdb && ./lmdb_floor DIR [COMMITS] [BATCHES]
 */
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CHECK(rc, what) do { int _rc = (rc); if (_rc) { fprintf(stderr, "%s: %s\n", what, mdb_strerror(_rc)); exit(1); } } while (0)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put(MDB_txn *txn, MDB_dbi dbi, uint64_t i, char *value) {
    unsigned char k[8];
    for (int b = 0; b < 8; b++) k[b] = (unsigned char)(i >> (56 - 8 * b));
    MDB_val key = {8, k}, val = {100, value};
    CHECK(mdb_put(txn, dbi, &key, &val, 0), "mdb_put");
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s DIR [COMMITS] [BATCHES]\n", argv[0]); return 2; }
    int commits = argc > 2 ? atoi(argv[2]) : 2000;
    int batches = argc > 3 ? atoi(argv[3]) : 20;
    mkdir(argv[1], 0755);
    MDB_env *env;
    CHECK(mdb_env_create(&env), "mdb_env_create");
    CHECK(mdb_env_set_mapsize(env, 256u << 20), "mdb_env_set_mapsize");
    CHECK(mdb_env_set_maxdbs(env, 64), "mdb_env_set_maxdbs");
    CHECK(mdb_env_open(env, argv[1], MDB_NOTLS, 0644), "mdb_env_open");
    MDB_txn *txn;
    MDB_dbi dbi;
    CHECK(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
    CHECK(mdb_dbi_open(txn, "bench", MDB_CREATE, &dbi), "mdb_dbi_open");
    CHECK(mdb_txn_commit(txn), "mdb_txn_commit");
    char value[100];
    memset(value, 0xab, sizeof value);

    double start = now();
    for (int i = 0; i < commits; i++) {
        CHECK(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
        put(txn, dbi, (uint64_t)i, value);
        CHECK(mdb_txn_commit(txn), "mdb_txn_commit");
    }
    double single = commits / (now() - start);

    uint64_t next = (uint64_t)commits;
    start = now();
    for (int b = 0; b < batches; b++) {
        CHECK(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
        for (int i = 0; i < 1000; i++) put(txn, dbi, next++, value);
        CHECK(mdb_txn_commit(txn), "mdb_txn_commit");
    }
    double batched = batches * 1000.0 / (now() - start);
    mdb_env_close(env);
    printf("{\"durableSinglePutCommitsPerSecond\":%.1f,\"durableBatchedPutsPerSecond\":%.1f,\"singleCommits\":%d,\"batches\":%d}\n",
           single, batched, commits, batches);
    return 0;
}
