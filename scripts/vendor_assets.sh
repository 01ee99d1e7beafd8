#!/usr/bin/env bash
# Vendor the browser files the app serves itself, from npm packages (no CDN at run time):
#   bootstrap (css), @fontsource/noto-sans-sc (CJK web font, weights 400 and 700).
set -euo pipefail
dest=${1:-assets/vendor}
command -v npm >/dev/null || { echo "npm is needed to vendor browser files: apt-get install npm" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && npm pack --silent bootstrap@5.3.8 @fontsource/noto-sans-sc@5.2 >/dev/null 2>npm.err ) \
  || { cat "$work/npm.err" >&2; exit 1; }
rm -rf "$dest" && mkdir -p "$dest/bootstrap" "$dest/noto-sans-sc/files"
tar xzf "$work"/bootstrap-*.tgz -C "$work" package/dist/css/bootstrap.min.css package/LICENSE
cp "$work/package/dist/css/bootstrap.min.css" "$work/package/LICENSE" "$dest/bootstrap/"
rm -rf "$work/package"
tar xzf "$work"/fontsource-noto-sans-sc-*.tgz -C "$work"
for w in 400 700; do
  cp "$work/package/$w.css" "$dest/noto-sans-sc/"
  grep -o 'files/[^)]*\.woff2' "$work/package/$w.css" | sort -u | while read -r f; do
    cp "$work/package/$f" "$dest/noto-sans-sc/files/"
  done
done
cp "$work/package/LICENSE" "$dest/noto-sans-sc/"
echo "vendored into $dest: $(du -sh "$dest" | cut -f1)"
