/*
 * cloister_nsm: the one system call the Nitro Secure Module needs, for Node through plain N-API.
 *
 *   open(path)            -> fd            (throws an Error with .errno and .syscall)
 *   request(fd, bytes)    -> Promise<Buffer>  ioctl(fd, NSM_IOCTL_RAW) on a worker thread
 *   close(fd)             -> undefined
 *
 * Everything about the messages themselves (CBOR, limits, errors) lives in TypeScript.
 */
#define NAPI_VERSION 8
#define ADDON_NAME "cloister_nsm"
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "napi-errors.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* The Linux nsm driver's UAPI: one ioctl taking a request and a response buffer. */
struct nsm_raw {
  struct iovec request;
  struct iovec response;
};

#define NSM_IOCTL_MAGIC 0x0A
#ifdef _IOWR
#define NSM_IOCTL_RAW _IOWR(NSM_IOCTL_MAGIC, 0x0, struct nsm_raw)
#else
#define NSM_IOCTL_RAW 0xC0200A00UL
#endif

#if defined(__linux__) && UINTPTR_MAX == 0xffffffffffffffffULL
_Static_assert(sizeof(struct nsm_raw) == 32, "struct nsm_raw is 32 bytes on 64-bit Linux");
_Static_assert(NSM_IOCTL_RAW == 0xC0200A00UL, "NSM_IOCTL_RAW is 0xC0200A00 on 64-bit Linux");
#endif

/* A request may be at most 4096 bytes; a response buffer smaller than 12288 is silently truncated. */
#define NSM_REQUEST_MAX 4096
#define NSM_RESPONSE_MAX 12288

static int get_fd(napi_env env, napi_value value, int *fd) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) return 0;
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok) return 0;
  if (!(d >= 0 && d <= INT_MAX) || d != (double)(int)d) return 0;
  *fd = (int)d;
  return 1;
}

/* open(path: string): number */
static napi_value nsm_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_string) {
    napi_throw_type_error(env, NULL, "open(path): path must be a string");
    return NULL;
  }
  char path[PATH_MAX];
  size_t length = 0;
  CHECK(env, napi_get_value_string_utf8(env, argv[0], path, sizeof path, &length));
  if (length == 0 || length >= sizeof path - 1 || strlen(path) != length) {
    napi_throw_type_error(env, NULL, "open(path): path is empty, too long or contains a NUL byte");
    return NULL;
  }
  int fd;
  do {
    fd = open(path, O_RDWR | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return throw_errno(env, "open", errno);
  napi_value result;
  CHECK(env, napi_create_int32(env, fd, &result));
  return result;
}

/* close(fd: number): undefined */
static napi_value nsm_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1 || !get_fd(env, argv[0], &fd)) {
    napi_throw_type_error(env, NULL, "close(fd): fd must be a non-negative integer");
    return NULL;
  }
  /* No retry on EINTR: on Linux the descriptor is released whatever close returns. */
  if (close(fd) != 0 && errno != EINTR) return throw_errno(env, "close", errno);
  return NULL;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  uint8_t *request;
  size_t request_len;
  uint8_t *response;
  size_t response_len;
  int err;
} request_job;

static void free_job(request_job *job) {
  free(job->request);
  free(job->response);
  free(job);
}

/* On a libuv worker thread: no N-API calls here. */
static void request_execute(napi_env env, void *data) {
  (void)env;
  request_job *job = data;
  struct nsm_raw raw;
  memset(&raw, 0, sizeof raw);
  raw.request.iov_base = job->request;
  raw.request.iov_len = job->request_len;
  raw.response.iov_base = job->response;
  raw.response.iov_len = NSM_RESPONSE_MAX;
  int rc;
  do {
    rc = ioctl(job->fd, NSM_IOCTL_RAW, &raw);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    job->err = errno;
  } else if (raw.response.iov_len > NSM_RESPONSE_MAX) {
    job->err = EOVERFLOW;
  } else {
    job->err = 0;
    job->response_len = raw.response.iov_len;
  }
}

/* Back on the main thread: settle the promise. */
static void request_complete(napi_env env, napi_status status, void *data) {
  request_job *job = data;
  napi_value value = NULL;
  int ok = 0;
  if (status != napi_ok) {
    value = errno_error(env, "ioctl", ECANCELED);
  } else if (job->err != 0) {
    value = errno_error(env, "ioctl", job->err);
  } else if (napi_create_buffer_copy(env, job->response_len, job->response, NULL, &value) == napi_ok) {
    ok = 1;
  } else {
    value = errno_error(env, "ioctl", ENOMEM);
  }
  if (ok) napi_resolve_deferred(env, job->deferred, value);
  else {
    if (value == NULL) napi_get_undefined(env, &value);
    napi_reject_deferred(env, job->deferred, value);
  }
  napi_delete_async_work(env, job->work);
  free_job(job);
}

/* request(fd: number, bytes: Uint8Array): Promise<Buffer> */
static napi_value nsm_request(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 2 || !get_fd(env, argv[0], &fd)) {
    napi_throw_type_error(env, NULL, "request(fd, bytes): fd must be a non-negative integer");
    return NULL;
  }
  bool is_typed = false;
  CHECK(env, napi_is_typedarray(env, argv[1], &is_typed));
  napi_typedarray_type kind;
  size_t length = 0;
  void *bytes = NULL;
  if (is_typed) CHECK(env, napi_get_typedarray_info(env, argv[1], &kind, &length, &bytes, NULL, NULL));
  if (!is_typed || kind != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "request(fd, bytes): bytes must be a Uint8Array");
    return NULL;
  }
  if (length == 0 || length > NSM_REQUEST_MAX) {
    napi_throw_range_error(env, NULL, "request(fd, bytes): a request is 1 to 4096 bytes");
    return NULL;
  }

  request_job *job = calloc(1, sizeof *job);
  if (job != NULL) {
    job->request = malloc(length);
    job->response = malloc(NSM_RESPONSE_MAX);
  }
  if (job == NULL || job->request == NULL || job->response == NULL) {
    if (job != NULL) free_job(job);
    return throw_errno(env, "malloc", ENOMEM);
  }
  /* A copy: the caller's buffer may change or be collected while the worker runs. */
  memcpy(job->request, bytes, length);
  job->request_len = length;
  job->fd = fd;

  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "cloister_nsm.request", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, request_execute, request_complete, job, &job->work) != napi_ok) {
    /* A deferred that was created is left pending; its promise is never returned to anyone. */
    free_job(job);
    napi_throw_error(env, NULL, "cloister_nsm: could not start the request");
    return NULL;
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    free_job(job);
    napi_throw_error(env, NULL, "cloister_nsm: could not queue the request");
    return NULL;
  }
  return promise;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"open", NULL, nsm_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"request", NULL, nsm_request, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, nsm_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  napi_value max;
  if (napi_create_uint32(env, NSM_REQUEST_MAX, &max) == napi_ok) napi_set_named_property(env, exports, "REQUEST_MAX", max);
  if (napi_create_uint32(env, NSM_RESPONSE_MAX, &max) == napi_ok) napi_set_named_property(env, exports, "RESPONSE_MAX", max);
  return exports;
}
