/* Preloaded after libfaketime by the time-shifted test pass (scripts/bootstrap.sh test-shifted).
 *
 * libfaketime 0.9.10 (Debian 12) shifts CLOCK_REALTIME and CLOCK_MONOTONIC alike and moves the deadlines
 * of the timed waits it knows (pthread_cond_timedwait, sem_timedwait, clock_nanosleep, ...) back onto
 * the real clocks. It does not know glibc's newer waits that name their clock, so their deadlines,
 * computed from the shifted clock, lie years ahead: CPython's Lock.acquire(timeout=...) (sem_clockwait),
 * and so Event.wait, Queue.get, Thread.join with a timeout, never time out. libstdc++'s
 * condition_variable::wait_for (pthread_cond_clockwait) is the same. This moves such a deadline
 * by the clock's shift (shifted now - real now) and calls the C library.
 * (Leaving the monotonic clock alone, FAKETIME_DONT_FAKE_MONOTONIC=1, is no way out: libfaketime then
 * shifts monotonic deadlines anyway, so time.sleep() fails with EINVAL and Chromium's condition
 * variables time out at once, making it a hundred times slower.)
 *
 * Build: cc -shared -fPIC -O2 -o faketime_clockwait.so faketime_clockwait.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#define NS 1000000000LL

typedef int (*gettime_fn)(clockid_t, struct timespec *);
typedef int (*sem_clockwait_fn)(sem_t *, clockid_t, const struct timespec *);
typedef int (*cond_clockwait_fn)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);

/* Pointers are looked up once; two threads racing only store the same value twice. */
static void *next(const char *name, void **slot) {
  if (!*slot) *slot = dlsym(RTLD_NEXT, name);
  return *slot;
}

/* The C library's own clock_gettime, which libfaketime does not shift. */
static int real_now(clockid_t clock, struct timespec *ts) {
  static gettime_fn libc_gettime;
  if (!libc_gettime) {
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    if (libc) libc_gettime = (gettime_fn)dlsym(libc, "clock_gettime");
    if (!libc_gettime) return -1;
  }
  return libc_gettime(clock, ts);
}

/* `deadline`, read on the shifted `clock`, as the same instant on the real one (never before 0). */
static struct timespec unshift(clockid_t clock, const struct timespec *deadline) {
  struct timespec shifted, real, out = *deadline;
  long long shift_ns;
  if (deadline->tv_nsec < 0 || deadline->tv_nsec >= NS) return out; /* the C library says EINVAL */
  if (deadline->tv_sec > (time_t)1 << 40) return out;                /* "for ever" stays for ever */
  if (clock_gettime(clock, &shifted) != 0 || real_now(clock, &real) != 0) return out;
  shift_ns = (long long)(shifted.tv_sec - real.tv_sec) * NS + (shifted.tv_nsec - real.tv_nsec);
  out.tv_sec = deadline->tv_sec - shift_ns / NS;
  out.tv_nsec = deadline->tv_nsec - shift_ns % NS;
  if (out.tv_nsec < 0) { out.tv_nsec += NS; out.tv_sec--; }
  if (out.tv_nsec >= NS) { out.tv_nsec -= NS; out.tv_sec++; }
  if (out.tv_sec < 0) out.tv_sec = out.tv_nsec = 0; /* already past: time out at once */
  return out;
}

int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime) {
  static void *slot;
  sem_clockwait_fn wait = (sem_clockwait_fn)next("sem_clockwait", &slot);
  struct timespec t;
  if (!wait) { errno = ENOSYS; return -1; }
  t = unshift(clock, abstime);
  return wait(sem, clock, &t);
}

int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t clock,
                           const struct timespec *abstime) {
  static void *slot;
  cond_clockwait_fn wait = (cond_clockwait_fn)next("pthread_cond_clockwait", &slot);
  struct timespec t;
  if (!wait) return ENOSYS;
  t = unshift(clock, abstime);
  return wait(cond, mutex, clock, &t);
}
