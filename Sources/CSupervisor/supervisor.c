#define _GNU_SOURCE
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// Everything below the fork runs in the supervisor, a child of a multithreaded process: only
// async-signal-safe system calls, no allocation, fixed buffers.

enum { MAX_PROCESSES = 65536 };
static int scan_pid[MAX_PROCESSES];
static int scan_ppid[MAX_PROCESSES];
static unsigned char scan_mark[MAX_PROCESSES];

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
  struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) == -1 && errno == EINTR) {
  }
}

static int parse_int(const char *s, int *out) {
  int v = 0, any = 0;
  while (*s >= '0' && *s <= '9') {
    v = v * 10 + (*s - '0');
    s++;
    any = 1;
  }
  if (!any || *s != 0) return 0;
  *out = v;
  return 1;
}

/// The parent pid and state of `pid` from /proc/<pid>/stat ("pid (comm) S ppid ..."; comm may hold
/// spaces and parentheses, so parse after the last ')'). Returns 0 when the process is gone.
static int read_stat(int pid, int *ppid, char *state) {
  char path[64];
  char buf[512];
  // "/proc/" + pid + "/stat"
  char digits[16];
  int n = 0, p = pid;
  do {
    digits[n++] = (char)('0' + p % 10);
    p /= 10;
  } while (p > 0 && n < 15);
  int k = 0;
  const char *prefix = "/proc/";
  while (*prefix) path[k++] = *prefix++;
  while (n > 0) path[k++] = digits[--n];
  const char *suffix = "/stat";
  while (*suffix) path[k++] = *suffix++;
  path[k] = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t r = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (r <= 0) return 0;
  buf[r] = 0;
  char *close_paren = NULL;
  for (char *c = buf; *c; c++)
    if (*c == ')') close_paren = c;
  if (!close_paren || close_paren[1] != ' ' || !close_paren[2] || close_paren[3] != ' ') return 0;
  *state = close_paren[2];
  int v = 0, sign = 1;
  char *c = close_paren + 4;
  if (*c == '-') {
    sign = -1;
    c++;
  }
  while (*c >= '0' && *c <= '9') v = v * 10 + (*c++ - '0');
  *ppid = sign * v;
  return 1;
}

/// Every live (not zombie) process that descends from `root`, by parent links in /proc.
static int descendants(int root, int *out, int max_out) {
  int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return 0;
  char buf[8192];
  int count = 0;
  for (;;) {
    long r = syscall(SYS_getdents64, dir, buf, sizeof(buf));
    if (r <= 0) break;
    for (long off = 0; off < r;) {
      // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[]
      unsigned short reclen;
      memcpy(&reclen, buf + off + 16, sizeof(reclen));
      const char *name = buf + off + 19;
      int pid;
      char state;
      int ppid;
      if (count < MAX_PROCESSES && parse_int(name, &pid) && read_stat(pid, &ppid, &state) && state != 'Z' &&
          state != 'X') {
        scan_pid[count] = pid;
        scan_ppid[count] = ppid;
        scan_mark[count] = 0;
        count++;
      }
      off += reclen;
    }
  }
  close(dir);
  // Mark descendants: repeat until no new process is marked (parent links form a forest).
  int changed = 1, found = 0;
  while (changed) {
    changed = 0;
    for (int i = 0; i < count; i++) {
      if (scan_mark[i]) continue;
      int parent = scan_ppid[i];
      int is_child = parent == root;
      for (int j = 0; !is_child && j < count; j++)
        if (scan_mark[j] && scan_pid[j] == parent) is_child = 1;
      if (is_child) {
        scan_mark[i] = 1;
        changed = 1;
        if (found < max_out) out[found++] = scan_pid[i];
      }
    }
  }
  return found;
}

static int victims[MAX_PROCESSES];

/// Kills every descendant of this process and reaps its children, until none is left.
static void kill_descendants(void) {
  int self = getpid();
  for (int round = 0; round < 400; round++) {
    int n = descendants(self, victims, MAX_PROCESSES);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    if (n == 0) return;
    for (int i = 0; i < n; i++) kill(victims[i], SIGKILL);
    sleep_ms(5);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
  }
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static void write_number(int fd, long long v) {
  char d[24];
  int n = 0;
  if (v == 0) d[n++] = '0';
  while (v > 0 && n < 23) {
    d[n++] = (char)('0' + v % 10);
    v /= 10;
  }
  char out[24];
  for (int i = 0; i < n; i++) out[i] = d[n - 1 - i];
  write_all(fd, out, (size_t)n);
}

static char chunk[65536];

/// Copies what is readable on `from` into `log` (up to the cap); returns 0 at end of file.
static int pump(int from, int log, long long cap, long long *written, long long *dropped) {
  ssize_t r = read(from, chunk, sizeof(chunk));
  if (r < 0) return errno == EINTR || errno == EAGAIN ? 1 : 0;
  if (r == 0) return 0;
  long long room = cap - *written;
  long long keep = r < room ? r : (room > 0 ? room : 0);
  if (keep > 0) write_all(log, chunk, (size_t)keep);
  *written += keep;
  *dropped += r - keep;
  return 1;
}

// Closes descriptors from..to (to included): close_range where the kernel has it (Linux 5.9),
// else one by one up to the descriptor limit (at most 65,536).
static void close_span(int from, int to) {
  if (to < from) return;
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)from, (unsigned)to, 0) == 0) return;
#endif
  struct rlimit limit;
  long end = 65536;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && (long)limit.rlim_cur < end)
    end = (long)limit.rlim_cur;
  for (long fd = from; fd <= to && fd < end; fd++) close((int)fd);
}

// The supervisor keeps only the descriptors it uses (and 0–2). A fork copies every descriptor of
// the caller, and the supervisor never calls exec: without this it would keep the caller's other
// files open for as long as the command runs, a run folder's lock among them (a lock belongs to
// the open file, so the folder would stay locked after the caller released it).
static void close_all_but(int *keep, int n) {
  for (int i = 1; i < n; i++) {  // ascending (insertion sort: n is 5)
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  }
  int from = 3;
  for (int i = 0; i < n; i++) {
    if (keep[i] < from) continue;
    close_span(from, keep[i] - 1);
    from = keep[i] + 1;
  }
  close_span(from, INT_MAX);
}

static void supervise(pid_t parent, const char *path, char *const argv[], char *const envp[], int devnull, int log,
                      long long cap, int grace_ms, int status_w, int out_r, int out_w) {
  int keep[] = {devnull, log, status_w, out_r, out_w};
  close_all_but(keep, 5);
  setpgid(0, 0);
  // Writes to a log or a status pipe whose reader is gone must fail, not kill the supervisor.
  struct sigaction ignore;
  memset(&ignore, 0, sizeof(ignore));
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, NULL);
  sigaction(SIGXFSZ, &ignore, NULL);
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
  sigset_t set;
  sigemptyset(&set);
  int watched[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD};
  for (unsigned i = 0; i < sizeof(watched) / sizeof(watched[0]); i++) sigaddset(&set, watched[i]);
  sigprocmask(SIG_SETMASK, &set, NULL);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  int status = 0, command_done = 0, terminating = getppid() != parent;  // the caller is already gone
  pid_t command = -1;
  if (!terminating) command = fork();
  if (command == 0) {
    setpgid(0, 0);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    int reset[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGPIPE, SIGXFSZ};
    for (unsigned i = 0; i < sizeof(reset) / sizeof(reset[0]); i++) sigaction(reset[i], &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    dup2(devnull, 0);
    dup2(out_w, 1);
    dup2(out_w, 2);
    execve(path, argv, envp);
    const char *msg = "unlearn: could not execute the command (errno ";
    write_all(2, msg, strlen(msg));
    write_number(2, errno);
    write_all(2, ")\n", 2);
    _exit(127);
  }
  close(out_w);
  if (command < 0) terminating = 1;
  long long written = 0, dropped = 0, deadline = terminating ? now_ms() : -1;
  int out_open = 1;
  if (command > 0 && terminating) kill(-command, SIGTERM);
  while (!command_done && command > 0) {
    struct pollfd fds[2] = {{sfd, POLLIN, 0}, {out_r, POLLIN, 0}};
    int timeout = -1;
    if (terminating) {
      long long left = deadline - now_ms();
      if (left <= 0) break;
      timeout = (int)left;
    }
    int n = poll(fds, out_open ? 2 : 1, timeout);
    if (n < 0 && errno != EINTR) break;
    if (out_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
      out_open = pump(out_r, log, cap, &written, &dropped);
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo info;
      while (read(sfd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
        if (info.ssi_signo == SIGCHLD) continue;
        if (!terminating) {
          terminating = 1;
          deadline = now_ms() + grace_ms;
          kill(-command, SIGTERM);
        }
      }
    }
    int st;
    pid_t r;
    while ((r = waitpid(-1, &st, WNOHANG)) > 0) {
      if (r == command) {
        status = st;
        command_done = 1;
      }
    }
  }
  // The job is over: nothing it started may outlive it.
  if (command > 0) kill(-command, SIGKILL);
  kill_descendants();
  if (command > 0 && !command_done) {
    int st;
    if (waitpid(command, &st, 0) == command) status = st;
  }
  // Every writer is gone: drain what is left of the output.
  fcntl(out_r, F_SETFL, O_NONBLOCK);
  while (out_open && pump(out_r, log, cap, &written, &dropped)) {
    struct pollfd p = {out_r, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
  }
  if (dropped > 0) {
    const char *a = "\n[unlearn: the log is capped at ";
    write_all(log, a, strlen(a));
    write_number(log, cap);
    const char *b = " bytes; ";
    write_all(log, b, strlen(b));
    write_number(log, dropped);
    const char *c = " more bytes were dropped]\n";
    write_all(log, c, strlen(c));
  }
  if (command < 0) status = -1;
  write_all(status_w, (const char *)&status, sizeof(status));
  _exit(0);
}

int unlearn_spawn_supervised(const char *path, char *const argv[], char *const envp[], const char *log_path,
                             long long log_cap, int grace_ms, int *supervisor_pid, int *status_fd) {
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) return errno;
  int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    int e = errno;
    close(devnull);
    return e;
  }
  int status_pipe[2], out_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close(devnull);
    close(log);
    return e;
  }
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close(devnull);
    close(log);
    close(status_pipe[0]);
    close(status_pipe[1]);
    return e;
  }
  pid_t parent = getpid();
  // The child starts with every signal blocked, so none reaches the caller's handlers in it;
  // the supervisor then takes the ones it watches through a signalfd.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = fork();
  if (pid == 0) {
    close(status_pipe[0]);
    supervise(parent, path, argv, envp, devnull, log, log_cap, grace_ms, status_pipe[1], out_pipe[0], out_pipe[1]);
  }
  int e = pid < 0 ? errno : 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(devnull);
  close(log);
  close(status_pipe[1]);
  close(out_pipe[0]);
  close(out_pipe[1]);
  if (pid < 0) {
    close(status_pipe[0]);
    return e;
  }
  *supervisor_pid = pid;
  *status_fd = status_pipe[0];
  return 0;
}
