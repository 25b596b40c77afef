export * from './browser-session';
export * from './dashboard.assets';
export * from './dashboard.pages';
