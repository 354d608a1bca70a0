import 'reflect-metadata';
import { runService } from '@herald/platform';
import { SenderModule } from './sender.module';

void runService('sender', (config) => SenderModule.forConfig(config));
