// Imported first by index.ts: the capabilities' dependencies are checked before their packages load.
import { ensureDependencies } from './dependencies';

ensureDependencies();
