/**
 * Preloaded (`node --require`) into the processes of the local stack that do not watch their
 * parent themselves (the bridge): when the process that started them disappears, even by SIGKILL,
 * their IPC channel closes and they exit, instead of holding the port for a stack that is gone.
 */
process.on('disconnect', () => process.exit(1));
