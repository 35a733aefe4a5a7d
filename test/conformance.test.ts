import { runConformance } from './conformance/runConformance.js';

runConformance('single');
