// Preloaded (node --require) into gateways profiled with --cpu-prof: exits normally on SIGTERM, so the
// profile is written (a process that dies of the re-raised signal, as after NestJS's shutdown hooks,
// writes none).
process.once('SIGTERM', () => process.exit(0));
