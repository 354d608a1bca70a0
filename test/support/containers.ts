import { KafkaContainer, type StartedKafkaContainer } from '@testcontainers/kafka';
import {
  GenericContainer,
  Network,
  Wait,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';

/**
 * The testcontainers path, for machines with a Docker engine: the same official images as
 * docker-compose.yml (Confluent's Kafka in KRaft mode and Schema Registry, MongoDB 7).
 */
interface Started {
  network: StartedNetwork;
  kafka: StartedKafkaContainer;
  registry: StartedTestContainer;
  mongo: StartedTestContainer;
}

const started: { current?: Started } =
  (globalThis as { __heraldContainers?: { current?: Started } }).__heraldContainers ?? {};
(globalThis as { __heraldContainers?: typeof started }).__heraldContainers = started;

export async function startContainers(): Promise<Record<string, string>> {
  const network = await new Network().start();
  const [kafka, mongo] = await Promise.all([
    new KafkaContainer('confluentinc/cp-kafka:7.7.1')
      .withKraft()
      .withNetwork(network)
      .withNetworkAliases('kafka')
      .start(),
    new GenericContainer('mongo:7')
      .withExposedPorts(27017)
      .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
      .start(),
  ]);
  const registry = await new GenericContainer('confluentinc/cp-schema-registry:7.7.1')
    .withNetwork(network)
    .withEnvironment({
      SCHEMA_REGISTRY_HOST_NAME: 'schema-registry',
      SCHEMA_REGISTRY_LISTENERS: 'http://0.0.0.0:8081',
      SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS: 'PLAINTEXT://kafka:9092',
    })
    .withExposedPorts(8081)
    .withWaitStrategy(Wait.forHttp('/subjects', 8081).forStatusCode(200))
    .start();
  started.current = { network, kafka, registry, mongo };
  return {
    KAFKA_BROKERS: `${kafka.getHost()}:${kafka.getMappedPort(9093)}`,
    SCHEMA_REGISTRY_URL: `http://${registry.getHost()}:${registry.getMappedPort(8081)}`,
    MONGODB_URI: `mongodb://${mongo.getHost()}:${mongo.getMappedPort(27017)}/herald_test`,
  };
}

export async function stopContainers(): Promise<void> {
  const current = started.current;
  if (!current) return;
  await Promise.allSettled([current.registry.stop(), current.mongo.stop()]);
  await current.kafka.stop();
  await current.network.stop();
  started.current = undefined;
}
