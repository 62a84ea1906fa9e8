/*
 * cloister_vsock: AF_VSOCK stream sockets for Node through plain N-API. Node cannot create them
 * (libuv knows only AF_INET, AF_INET6 and AF_UNIX); this file makes the descriptors and
 * proxy/transport/vsock.ts adopts them into ordinary net.Socket / net.Server objects.
 *
 *   listen(cid, port, backlog)        -> fd        bound and listening, non-blocking
 *   connect(cid, port, timeoutMs)     -> fd        non-blocking connect started (EINPROGRESS is fine);
 *                                                  the kernel gives up after timeoutMs (ETIMEDOUT)
 *   watchWritable(fd, callback)       -> cancel()  a libuv poll handle on the loop: on the first
 *                                                  writable (or error) event the handle is closed,
 *                                                  then callback(soError) runs with SO_ERROR read
 *                                                  (libuv itself reports such errors as EBADF)
 *   soError(fd)                       -> errno (0 when none)
 *   localCid()                        -> the CID of this machine (ioctl on /dev/vsock)
 *   socketpair()                      -> [fd, fd]  AF_UNIX stream pair, non-blocking (for tests)
 *   close(fd)                         -> undefined
 *
 * Failures throw an Error whose message is "syscall: strerror", with .errno (positive) and .syscall.
 * Every descriptor is made O_NONBLOCK | O_CLOEXEC.
 */
#define NAPI_VERSION 8
#define ADDON_NAME "cloister_vsock"
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "napi-errors.h"

#ifndef SO_VM_SOCKETS_CONNECT_TIMEOUT
#define SO_VM_SOCKETS_CONNECT_TIMEOUT 6
#endif

/* Reads argument i as an unsigned 32-bit integer (a CID, a port); throws a TypeError otherwise. */
static int get_u32(napi_env env, napi_value value, const char *what, uint32_t *out) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok || number != number || number < 0 ||
      number > 4294967295.0 || number != (double)(uint32_t)number) {
    char text[128];
    snprintf(text, sizeof text, "%s must be an integer from 0 to 4294967295", what);
    napi_throw_type_error(env, NULL, text);
    return 0;
  }
  *out = (uint32_t)number;
  return 1;
}

static int get_fd(napi_env env, napi_value value, int *fd) {
  int32_t number;
  if (napi_get_value_int32(env, value, &number) != napi_ok || number < 0) {
    napi_throw_type_error(env, NULL, "fd must be a non-negative integer");
    return 0;
  }
  *fd = number;
  return 1;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    napi_throw_type_error(env, NULL, "too few arguments");
    return 0;
  }
  return 1;
}

static napi_value make_int(napi_env env, int32_t value) {
  napi_value result;
  CHECK(env, napi_create_int32(env, value, &result));
  return result;
}

static int vsock_socket(void) {
  return socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static void fill_address(struct sockaddr_vm *address, uint32_t cid, uint32_t port) {
  memset(address, 0, sizeof *address);
  address->svm_family = AF_VSOCK;
  address->svm_cid = cid;
  address->svm_port = port;
}

/* listen(cid, port, backlog) -> fd */
static napi_value Listen(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t cid, port, backlog;
  struct sockaddr_vm address;
  int fd, err;
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_u32(env, argv[0], "cid", &cid) || !get_u32(env, argv[1], "port", &port) ||
      !get_u32(env, argv[2], "backlog", &backlog))
    return NULL;
  fd = vsock_socket();
  if (fd < 0) return throw_errno(env, "socket", errno);
  fill_address(&address, cid, port);
  if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  if (listen(fd, backlog > 65535 ? 65535 : (int)backlog) != 0) {
    err = errno;
    close(fd);
    return throw_errno(env, "listen", err);
  }
  return make_int(env, fd);
}

/* connect(cid, port, timeoutMs) -> fd, the connect under way (or already done). */
static napi_value Connect(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t cid, port, timeout_ms;
  struct sockaddr_vm address;
  struct timeval timeout;
  int fd, err;
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_u32(env, argv[0], "cid", &cid) || !get_u32(env, argv[1], "port", &port) ||
      !get_u32(env, argv[2], "timeoutMs", &timeout_ms))
    return NULL;
  fd = vsock_socket();
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (timeout_ms > 0) {
    timeout.tv_sec = timeout_ms / 1000;
    timeout.tv_usec = (timeout_ms % 1000) * 1000;
    if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &timeout, sizeof timeout) != 0) {
      err = errno;
      close(fd);
      return throw_errno(env, "setsockopt", err);
    }
  }
  fill_address(&address, cid, port);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS) {
    err = errno;
    close(fd);
    return throw_errno(env, "connect", err);
  }
  return make_int(env, fd);
}

static int read_so_error(int fd, int *value) {
  socklen_t length = sizeof *value;
  *value = 0;
  return getsockopt(fd, SOL_SOCKET, SO_ERROR, value, &length);
}

/* soError(fd) -> errno, 0 when none */
static napi_value SoError(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd, value;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  if (read_so_error(fd, &value) != 0) return throw_errno(env, "getsockopt", errno);
  return make_int(env, value);
}

/* Shared between a watch and its cancel() function; freed when both are done with it. */
struct box {
  struct watch *watch; /* NULL once the watch is closed or cancelled */
  int refs;
};

/* One watchWritable: a poll handle on Node's loop, and the JS callback to run after it closes. */
struct watch {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  struct box *box;
  int fd;
  int so_error;
  int fire;    /* call the callback once closed (0 when cancelled) */
  int closing; /* uv_close has been called */
};

static void box_release(struct box *box) {
  if (--box->refs == 0) free(box);
}

static void watch_closed(uv_handle_t *handle) {
  struct watch *watch = (struct watch *)handle->data;
  napi_env env = watch->env;
  napi_handle_scope scope;
  watch->box->watch = NULL;
  box_release(watch->box);
  if (napi_open_handle_scope(env, &scope) == napi_ok) {
    napi_value callback, resource, argv[1], result;
    if (watch->fire && napi_get_reference_value(env, watch->callback, &callback) == napi_ok &&
        napi_create_int32(env, watch->so_error, &argv[0]) == napi_ok &&
        napi_get_global(env, &resource) == napi_ok) {
      /* napi_make_callback runs the microtasks and nextTicks queued by the callback afterwards. */
      napi_make_callback(env, watch->context, resource, callback, 1, argv, &result);
    }
    napi_close_handle_scope(env, scope);
  }
  napi_delete_reference(env, watch->callback);
  napi_async_destroy(env, watch->context);
  free(watch);
}

static void watch_event(uv_poll_t *poll, int status, int events) {
  struct watch *watch = (struct watch *)poll->data;
  (void)status;
  (void)events;
  if (watch->closing) return;
  /* Whatever libuv says (an error comes as EBADF), the socket knows the real outcome. */
  if (read_so_error(watch->fd, &watch->so_error) != 0) watch->so_error = errno;
  watch->closing = 1;
  uv_close((uv_handle_t *)poll, watch_closed); /* stops polling now; the callback runs once closed */
}

/* The cancel() function handed back by watchWritable: closes the handle without a callback. */
static napi_value WatchCancel(napi_env env, napi_callback_info info) {
  void *data = NULL;
  napi_value undefined;
  struct box *box;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  CHECK(env, napi_get_undefined(env, &undefined));
  box = (struct box *)data;
  if (box != NULL && box->watch != NULL) {
    struct watch *watch = box->watch;
    watch->fire = 0;
    if (!watch->closing) {
      watch->closing = 1;
      uv_close((uv_handle_t *)&watch->poll, watch_closed);
    }
  }
  return undefined;
}

static void box_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  box_release((struct box *)data);
}

/* watchWritable(fd, callback(soError)) -> cancel() */
static napi_value WatchWritable(napi_env env, napi_callback_info info) {
  napi_value argv[2], name, cancel;
  napi_valuetype type;
  uv_loop_t *loop;
  struct watch *watch;
  struct box *box;
  int fd, err;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  CHECK(env, napi_typeof(env, argv[1], &type));
  if (type != napi_function) {
    napi_throw_type_error(env, NULL, "callback must be a function");
    return NULL;
  }
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  CHECK(env, napi_create_string_utf8(env, "cloister:vsock-connect", NAPI_AUTO_LENGTH, &name));
  watch = calloc(1, sizeof *watch);
  box = calloc(1, sizeof *box);
  if (watch == NULL || box == NULL) {
    free(watch);
    free(box);
    return throw_errno(env, "calloc", ENOMEM);
  }
  if (napi_create_reference(env, argv[1], 1, &watch->callback) != napi_ok) {
    free(watch);
    free(box);
    napi_throw_error(env, NULL, "cloister_vsock: cannot keep the callback");
    return NULL;
  }
  if (napi_async_init(env, NULL, name, &watch->context) != napi_ok) {
    napi_delete_reference(env, watch->callback);
    free(watch);
    free(box);
    napi_throw_error(env, NULL, "cloister_vsock: cannot make an async context");
    return NULL;
  }
  watch->env = env;
  watch->fd = fd;
  watch->fire = 1;
  watch->box = box;
  box->watch = watch;
  box->refs = 1; /* the watch's; the cancel function's is added below */
  err = uv_poll_init_socket(loop, &watch->poll, fd);
  if (err != 0) {
    napi_delete_reference(env, watch->callback);
    napi_async_destroy(env, watch->context);
    free(watch);
    free(box);
    return throw_errno(env, "uv_poll_init", -err);
  }
  watch->poll.data = watch;
  err = uv_poll_start(&watch->poll, UV_WRITABLE, watch_event);
  if (err != 0) {
    watch->fire = 0;
    watch->closing = 1;
    uv_close((uv_handle_t *)&watch->poll, watch_closed); /* frees the watch and the box */
    return throw_errno(env, "uv_poll_start", -err);
  }
  if (napi_create_function(env, "cancel", NAPI_AUTO_LENGTH, WatchCancel, box, &cancel) != napi_ok) {
    napi_throw_error(env, NULL, "cloister_vsock: cannot create cancel()");
    return NULL;
  }
  box->refs++;
  if (napi_add_finalizer(env, cancel, box, box_finalize, NULL, NULL) != napi_ok) {
    box->refs--;
    napi_throw_error(env, NULL, "cloister_vsock: cannot create cancel()");
    return NULL;
  }
  return cancel;
}

/* localCid() -> the CID of this machine */
static napi_value LocalCid(napi_env env, napi_callback_info info) {
  unsigned int cid = 0;
  napi_value result;
  int fd, err;
  (void)info;
  fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open", errno);
  if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) != 0) {
    err = errno;
    close(fd);
    return throw_errno(env, "ioctl", err);
  }
  close(fd);
  CHECK(env, napi_create_uint32(env, cid, &result));
  return result;
}

/* socketpair() -> [fd, fd] */
static napi_value SocketPair(napi_env env, napi_callback_info info) {
  int fds[2];
  napi_value result;
  (void)info;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    return throw_errno(env, "socketpair", errno);
  if (napi_create_array_with_length(env, 2, &result) != napi_ok ||
      napi_set_element(env, result, 0, make_int(env, fds[0])) != napi_ok ||
      napi_set_element(env, result, 1, make_int(env, fds[1])) != napi_ok) {
    close(fds[0]);
    close(fds[1]);
    napi_throw_error(env, NULL, "cloister_vsock: cannot return the socket pair");
    return NULL;
  }
  return result;
}

/* close(fd) */
static napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1], undefined;
  int fd;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  if (close(fd) != 0 && errno != EINTR) return throw_errno(env, "close", errno);
  CHECK(env, napi_get_undefined(env, &undefined));
  return undefined;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"listen", NULL, Listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connect", NULL, Connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watchWritable", NULL, WatchWritable, NULL, NULL, NULL, napi_enumerable, NULL},
      {"soError", NULL, SoError, NULL, NULL, NULL, napi_enumerable, NULL},
      {"localCid", NULL, LocalCid, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketpair", NULL, SocketPair, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
