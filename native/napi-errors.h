/*
 * What the native addons share: N-API failures and system-call errors turned into JavaScript
 * errors shaped like Node's own (message "syscall: strerror", .errno positive, .syscall).
 * Define ADDON_NAME (a string literal) before including, for the addon's name in messages.
 */
#ifndef CLOISTER_NAPI_ERRORS_H
#define CLOISTER_NAPI_ERRORS_H

#include <node_api.h>
#include <stdio.h>
#include <string.h>

#ifndef ADDON_NAME
#error "define ADDON_NAME before including napi-errors.h"
#endif

/* Returns NULL from the calling N-API function, with an error thrown, when an N-API call fails. */
#define CHECK(env, call)                                                         \
  do {                                                                           \
    if ((call) != napi_ok) {                                                     \
      napi_throw_error((env), NULL, ADDON_NAME ": N-API call failed: " #call);   \
      return NULL;                                                               \
    }                                                                            \
  } while (0)

static inline napi_value errno_error(napi_env env, const char *syscall, int err) {
  char text[256];
  napi_value message, error, number, name;
  snprintf(text, sizeof text, "%s: %s", syscall, strerror(err));
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message) != napi_ok) return NULL;
  if (napi_create_error(env, NULL, message, &error) != napi_ok) return NULL;
  if (napi_create_int32(env, err, &number) == napi_ok) napi_set_named_property(env, error, "errno", number);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &name) == napi_ok)
    napi_set_named_property(env, error, "syscall", name);
  return error;
}

static inline napi_value throw_errno(napi_env env, const char *syscall, int err) {
  napi_value error = errno_error(env, syscall, err);
  if (error != NULL) napi_throw(env, error);
  else napi_throw_error(env, NULL, ADDON_NAME ": system call failed");
  return NULL;
}

#endif
