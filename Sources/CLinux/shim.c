#define _GNU_SOURCE
#include <malloc.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "CLinux.h"

int cutover_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}

// Moves up to len bytes between a socket and a pipe without copying through user space.
ssize_t cutover_splice(int fd_in, int fd_out, size_t len, unsigned int flags) {
    return splice(fd_in, NULL, fd_out, NULL, len, flags);
}

int cutover_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
int cutover_malloc_trim(void) { return malloc_trim(0); }

int cutover_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }

int cutover_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

pid_t cutover_gettid(void) { return (pid_t)syscall(SYS_gettid); }

#include <pthread.h>
int cutover_set_thread_name(unsigned long thread, const char *name) {
    return pthread_setname_np((pthread_t)thread, name);
}
