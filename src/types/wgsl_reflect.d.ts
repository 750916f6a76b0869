// The package's bare name gives no named exports in Node 20, so the code imports the ES module
// file directly; this gives that path the package's own types.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
