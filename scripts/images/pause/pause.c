/*
 * bosun's pod sandbox: holds the pod's network namespace and does nothing else.
 * It must be PID 1-safe: PID 1 gets no default signal handlers, so SIGTERM and SIGINT
 * are handled explicitly (exit 0), and SIGCHLD is reaped so zombies never pile up if
 * something is ever started inside the sandbox's PID namespace.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_terminate(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction terminate = {0};
  terminate.sa_handler = on_terminate;
  sigaction(SIGTERM, &terminate, NULL);
  sigaction(SIGINT, &terminate, NULL);

  struct sigaction child = {0};
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &child, NULL);

  for (;;) pause();
  return 0;
}
