import 'reflect-metadata';
import { loadConfig } from '@herald/config';
import { runService } from '@herald/platform';
import { ProjectorModule } from './projector.module';
import { rebuildReadModel } from '@herald/projection';

if (process.argv[2] === 'rebuild') {
  rebuildReadModel(loadConfig('projector')).then(
    () => process.exit(0),
    (error: Error) => {
      process.stderr.write(`herald-projector rebuild failed: ${error.message}\n`);
      process.exit(1);
    },
  );
} else {
  void runService('projector', (config) => ProjectorModule.forConfig(config));
}
