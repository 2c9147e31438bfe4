#!/usr/bin/env node
import { main } from './cli/main.js';
import { rememberStartFds } from './launch/own-fds.js';
import { phase, phaseLine } from './phases.js';

rememberStartFds();
phase('loaded');
process.exitCode = await main(process.argv.slice(2));
phase('reported');
process.stderr.write(phaseLine());
