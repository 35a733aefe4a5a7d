import { runConformance } from './conformance/runConformance.js';

runConformance('shared');
