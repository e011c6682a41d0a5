#ifndef UNLEARN_SUPERVISOR_H
#define UNLEARN_SUPERVISOR_H

/// Starts `path` (with `argv`, exactly `envp`, standard input from /dev/null, standard output
/// and error appended to `log_path`, at most `log_cap` bytes of it, then a note of what was
/// dropped) under a supervisor process, so that nothing the command starts outlives it:
///
/// - the supervisor is a child subreaper: descendants that double-fork or call setsid are
///   reparented to it, not to init;
/// - when the command exits, the supervisor kills every process that descends from it
///   (found through /proc, whatever their process group or session), reaps them and exits;
/// - on SIGTERM (from the caller: a time-out or a cancelled run), it sends SIGTERM to the
///   command's process group, waits up to `grace_ms`, then kills every descendant;
/// - it gets SIGTERM when the thread that started it dies (PR_SET_PDEATHSIG), so a harness
///   killed with -9 takes its commands with it.
///
/// The command's wait status is written to the pipe `*status_fd` (an int) just before the
/// supervisor exits; `*supervisor_pid` is the process to wait for. Returns 0, or an errno
/// when nothing could be started. The supervisor uses only async-signal-safe calls, since it
/// is forked from a multithreaded process.
int unlearn_spawn_supervised(const char *path, char *const argv[], char *const envp[], const char *log_path,
                             long long log_cap, int grace_ms, int *supervisor_pid, int *status_fd);

#endif
