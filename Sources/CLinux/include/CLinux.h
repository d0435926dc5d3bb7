// Kernel facilities that Glibc's Swift module does not export (epoll, eventfd, timerfd,
// accept4, splice, pipe2) and small wrappers for the macros and variadics Swift cannot call.
#ifndef CUTOVER_CLINUX_H
#define CUTOVER_CLINUX_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

int cutover_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
ssize_t cutover_splice(int fd_in, int fd_out, size_t len, unsigned int flags);
int cutover_pipe2(int fds[2], int flags);
/// Attaches a classic BPF filter to a listening TCP socket that drops segments with SYN set and
/// ACK clear: no new handshake starts on it, while those under way complete and can be accepted
/// before it is closed. A client whose SYN was dropped retransmits and then meets a closed port
/// (refused), instead of being reset out of the accept queue by the close. 0 or -1 with errno.
int cutover_refuse_new_handshakes(int fd);
/// glibc's malloc_trim(0): free pages of every arena back to the kernel (malloc.h is not in Glibc's module).
int cutover_malloc_trim(void);
int cutover_set_pipe_size(int fd, int size);
int cutover_set_nonblocking(int fd);
pid_t cutover_gettid(void);
int cutover_set_thread_name(unsigned long thread, const char *name);

static inline uint32_t cutover_epollin(void) { return EPOLLIN; }
static inline uint32_t cutover_epollout(void) { return EPOLLOUT; }
static inline uint32_t cutover_epollrdhup(void) { return EPOLLRDHUP; }
static inline uint32_t cutover_epollhup(void) { return EPOLLHUP; }
static inline uint32_t cutover_epollerr(void) { return EPOLLERR; }
static inline uint32_t cutover_epollet(void) { return EPOLLET; }

static inline unsigned int cutover_splice_f_nonblock(void) { return 2; /* SPLICE_F_NONBLOCK */ }
static inline unsigned int cutover_splice_f_move(void) { return 1; /* SPLICE_F_MOVE */ }
static inline int cutover_sock_nonblock_cloexec(void) { return SOCK_NONBLOCK | SOCK_CLOEXEC; }

#endif
