import { runConformance } from './conformance/runConformance.js';

// Every key behaves exactly like its own lazy bucket: the whole conformance suite, through one key.
runConformance('keyed');
