export * from './browser-session';
export * from './dashboard.assets';
