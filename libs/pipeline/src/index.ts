export * from './consumers';
export * from './transactional-committer';
