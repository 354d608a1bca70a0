import 'reflect-metadata';
import { runService } from '@herald/platform';
import { StatusCheckerModule } from './status-checker.module';

void runService('status-checker', (config) => StatusCheckerModule.forConfig(config));
