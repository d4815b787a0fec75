/* The raw spawn baseline of ./bench/run.sh: spawns PROGRAM [ARGS...] N times in a tight loop,
 * one at a time (posix_spawn, then waitpid), and prints the rate. The child's stdout and stderr
 * go to /dev/null. Usage: spawn N PROGRAM [ARGS...] */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: spawn N PROGRAM [ARGS...]\n");
    return 64;
  }
  long n = atol(argv[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < n; i++) {
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[2], &actions, NULL, &argv[2], environ);
    if (rc != 0) {
      fprintf(stderr, "spawn: cannot start %s (error %d)\n", argv[2], rc);
      return 1;
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "spawn: %s did not exit with 0\n", argv[2]);
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  double seconds = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
  printf("%.1f\n", n / seconds);
  return 0;
}
