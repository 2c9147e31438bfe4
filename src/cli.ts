#!/usr/bin/env node
import { rememberStartFds } from './launch/own-fds.js';
import { probeNativeTracer } from './launch/native-tracer.js';
import { phase, phaseLine } from './phases.js';

rememberStartFds();
// Whether prefork-check's own tracer runs here (a run of it) is found out while the rest loads.
void probeNativeTracer();
const { main } = await import('./cli/main.js');
phase('loaded');
process.exitCode = await main(process.argv.slice(2));
phase('reported');
process.stderr.write(phaseLine());
