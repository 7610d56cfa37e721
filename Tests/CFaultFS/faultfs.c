#define _GNU_SOURCE
#include "faultfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

// What each descriptor is: unknown until first written while recording.
enum { FD_UNKNOWN = 0, FD_OTHER = 1, FD_TRACKED = 2 };
#define MAX_FD 65536
#define MAX_FILES 64

static atomic_int recording;
static _Atomic unsigned char fd_state[MAX_FD];
static _Atomic short fd_file[MAX_FD];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char prefix[4096];
static char *paths[MAX_FILES];
static int file_count;
static struct faultfs_op *ops;
static _Atomic int64_t op_count;
static int64_t op_capacity;
static char fail_suffix[256];
static int64_t fail_after = -1;
static int64_t syncs_seen;

static int resolve(int fd) {
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return FD_OTHER;
    path[n] = 0;
    size_t plen = strlen(prefix);
    size_t len = (size_t)n;
    if (strncmp(path, prefix, plen) != 0) return FD_OTHER;
    if (len >= 8 && strcmp(path + len - 8, "lock.mdb") == 0) return FD_OTHER;
    int file = -1;
    for (int i = 0; i < file_count; i++)
        if (strcmp(paths[i], path) == 0) file = i;
    if (file < 0) {
        if (file_count == MAX_FILES) return FD_OTHER;
        file = file_count++;
        paths[file] = strdup(path);
    }
    atomic_store(&fd_file[fd], (short)file);
    return FD_TRACKED;
}

// Locks and returns the file index when `fd` is recorded; -1 (unlocked) otherwise.
static int enter(int fd) {
    if (!atomic_load(&recording) || fd < 0 || fd >= MAX_FD) return -1;
    pthread_mutex_lock(&lock);
    if (!atomic_load(&recording)) {
        pthread_mutex_unlock(&lock);
        return -1;
    }
    int state = atomic_load(&fd_state[fd]);
    if (state == FD_UNKNOWN) {
        state = resolve(fd);
        atomic_store(&fd_state[fd], (unsigned char)state);
    }
    if (state != FD_TRACKED) {
        pthread_mutex_unlock(&lock);
        return -1;
    }
    return atomic_load(&fd_file[fd]);
}

static void append(int kind, int file, int dsync, int64_t offset, const uint8_t *bytes, int64_t length) {
    if (op_count == op_capacity) {
        op_capacity = op_capacity ? op_capacity * 2 : 4096;
        ops = realloc(ops, (size_t)op_capacity * sizeof *ops);
        if (!ops) abort();
    }
    uint8_t *copy = NULL;
    if (length > 0) {
        copy = malloc((size_t)length);
        if (!copy) abort();
        memcpy(copy, bytes, (size_t)length);
    }
    ops[op_count] = (struct faultfs_op){kind, file, dsync, offset, length, copy};
    atomic_fetch_add(&op_count, 1);
}

static int is_dsync(int fd) {
    int flags = (int)syscall(SYS_fcntl, fd, F_GETFL);
    return flags >= 0 && (flags & O_DSYNC) == O_DSYNC;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    int file = enter(fd);
    ssize_t r = syscall(SYS_pwrite64, fd, buf, n, off);
    if (file >= 0) {
        int saved = errno;
        if (r > 0) append(FAULTFS_WRITE, file, is_dsync(fd), off, buf, r);
        pthread_mutex_unlock(&lock);
        errno = saved;
    }
    return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) { return pwrite(fd, buf, n, off); }

ssize_t write(int fd, const void *buf, size_t n) {
    int file = enter(fd);
    off_t at = file >= 0 ? (off_t)syscall(SYS_lseek, fd, 0, SEEK_CUR) : 0;
    ssize_t r = syscall(SYS_write, fd, buf, n);
    if (file >= 0) {
        int saved = errno;
        if (r > 0 && at >= 0) append(FAULTFS_WRITE, file, is_dsync(fd), at, buf, r);
        pthread_mutex_unlock(&lock);
        errno = saved;
    }
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int count) {
    int file = enter(fd);
    off_t at = file >= 0 ? (off_t)syscall(SYS_lseek, fd, 0, SEEK_CUR) : 0;
    ssize_t r = syscall(SYS_writev, fd, iov, count);
    if (file >= 0) {
        int saved = errno;
        if (r > 0 && at >= 0) {
            uint8_t *all = malloc((size_t)r);
            if (!all) abort();
            ssize_t done = 0;
            for (int i = 0; i < count && done < r; i++) {
                size_t take = iov[i].iov_len < (size_t)(r - done) ? iov[i].iov_len : (size_t)(r - done);
                memcpy(all + done, iov[i].iov_base, take);
                done += (ssize_t)take;
            }
            append(FAULTFS_WRITE, file, is_dsync(fd), at, all, r);
            free(all);
        }
        pthread_mutex_unlock(&lock);
        errno = saved;
    }
    return r;
}

static int sync_call(int fd, long number) {
    int file = enter(fd);
    if (file >= 0 && fail_after >= 0) {
        size_t plen = strlen(paths[file]), slen = strlen(fail_suffix);
        if (plen >= slen && strcmp(paths[file] + plen - slen, fail_suffix) == 0 && ++syncs_seen > fail_after) {
            // As the kernel reports a failed writeback: the data may not be on disk.
            pthread_mutex_unlock(&lock);
            errno = EIO;
            return -1;
        }
    }
    int r = (int)syscall(number, fd);
    if (file >= 0) {
        int saved = errno;
        if (r == 0) append(FAULTFS_SYNC, file, 0, 0, NULL, 0);
        pthread_mutex_unlock(&lock);
        errno = saved;
    }
    return r;
}

int fsync(int fd) { return sync_call(fd, SYS_fsync); }
int fdatasync(int fd) { return sync_call(fd, SYS_fdatasync); }

int close(int fd) {
    if (fd >= 0 && fd < MAX_FD) {
        // A descriptor number is reused: what it was is forgotten with it.
        int locked = atomic_load(&recording);
        if (locked) pthread_mutex_lock(&lock);
        atomic_store(&fd_state[fd], FD_UNKNOWN);
        if (locked) pthread_mutex_unlock(&lock);
    }
    return (int)syscall(SYS_close, fd);
}

int faultfs_start(const char *p) {
    pthread_mutex_lock(&lock);
    if (atomic_load(&recording)) {
        pthread_mutex_unlock(&lock);
        return -1;
    }
    snprintf(prefix, sizeof prefix, "%s", p);
    for (int i = 0; i < MAX_FD; i++) atomic_store(&fd_state[i], FD_UNKNOWN);
    atomic_store(&recording, 1);
    pthread_mutex_unlock(&lock);
    return 0;
}

void faultfs_fail_syncs(const char *suffix, int64_t after) {
    pthread_mutex_lock(&lock);
    snprintf(fail_suffix, sizeof fail_suffix, "%s", suffix);
    fail_after = after;
    syncs_seen = 0;
    pthread_mutex_unlock(&lock);
}

void faultfs_stop(void) {
    pthread_mutex_lock(&lock);
    atomic_store(&recording, 0);
    fail_after = -1;
    pthread_mutex_unlock(&lock);
}

void faultfs_reset(void) {
    pthread_mutex_lock(&lock);
    for (int64_t i = 0; i < op_count; i++) free((void *)ops[i].bytes);
    free(ops);
    ops = NULL;
    op_count = 0;
    op_capacity = 0;
    for (int i = 0; i < file_count; i++) free(paths[i]);
    file_count = 0;
    pthread_mutex_unlock(&lock);
}

int64_t faultfs_count(void) { return atomic_load(&op_count); }

struct faultfs_op faultfs_get(int64_t i) { return ops[i]; }

int faultfs_files(void) { return file_count; }

const char *faultfs_path(int i) { return paths[i]; }
