import 'reflect-metadata';
import { runService } from '@herald/platform';
import { IngestModule } from './ingest.module';

void runService('ingest', (config) => IngestModule.forConfig(config));
