import 'reflect-metadata';
import { runService } from '@herald/platform';
import { ProjectorModule } from './projector.module';

void runService('projector', (config) => ProjectorModule.forConfig(config));
