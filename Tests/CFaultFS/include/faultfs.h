// A recording layer under the process's file writes, for power-loss tests.
//
// This target defines write, pwrite, pwrite64, writev, fsync, fdatasync and close. Linked
// into the test executable, those definitions come before the C library's for every caller
// in the process, LMDB's shared library included. Each one goes straight to the system call.
// While recording, writes and syncs on files under the recorded directory are logged in
// order, with their bytes; nothing else is touched. A test then builds, from the log, the
// file states a power cut at any point could have left.
#ifndef COGNATE_FAULTFS_H
#define COGNATE_FAULTFS_H

#include <stddef.h>
#include <stdint.h>

enum faultfs_kind { FAULTFS_WRITE = 0, FAULTFS_SYNC = 1 };

struct faultfs_op {
    int kind;             // faultfs_kind
    int file;             // index into the recorded files
    int dsync;            // the write's descriptor was O_DSYNC / O_SYNC: it returned on disk
    int64_t offset;       // where a write began
    int64_t length;       // its length in bytes
    const uint8_t *bytes; // its bytes (owned by the log until faultfs_reset)
};

// Starts recording writes to files whose path begins with `prefix` (files named lock.mdb,
// LMDB's reader table, are skipped). Returns 0, or -1 when recording is already on.
int faultfs_start(const char *prefix);
// While recording: fsync and fdatasync of recorded files whose path ends with `suffix` fail
// with EIO after the first `after` of them (until faultfs_stop).
void faultfs_fail_syncs(const char *suffix, int64_t after);
// Stops recording; the log stays readable until faultfs_reset.
void faultfs_stop(void);
// Frees the log.
void faultfs_reset(void);
// Operations recorded so far (a point in the log; safe to call while recording).
int64_t faultfs_count(void);
// Operation `i` of the log, after faultfs_stop.
struct faultfs_op faultfs_get(int64_t i);
// Files seen, and the path of file `i`.
int faultfs_files(void);
const char *faultfs_path(int i);

#endif
