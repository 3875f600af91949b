// The app is self-contained: build it from this folder.
/** @type {import('next').NextConfig} */
const nextConfig = {
  turbopack: { root: import.meta.dirname },
};
export default nextConfig;
