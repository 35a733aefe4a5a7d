import { runConformance } from './conformance/runConformance.js';

// The keyed Redis store through a one-key view that starts from any state, both clients, both time sources.
runConformance('redis-keyed');
