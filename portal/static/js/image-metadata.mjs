/**
 * Photos cleaned of hidden details before they are encrypted, with the platform alone.
 *
 * A photo can say where and when it was taken, and with which phone (EXIF, including GPS), and
 * a PNG or WebP can carry text chunks; any of it can identify a defender. Drawing the picture
 * onto a canvas and encoding the canvas again keeps only the pixels: the new file holds none of
 * the old one's metadata. It costs some quality for JPEG and WebP, and only works for the types
 * the browser can both decode and encode; every other file goes as it is, and the form says so
 * next to the file input. A photo that cannot be decoded is refused rather than sent uncleaned.
 */

/** The types re-encoded here, each as itself (a browser that cannot write WebP writes PNG). */
export const CLEANED_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const LOSSY_QUALITY = 0.92;

/** A photo that could not be read to be cleaned; nothing of it was sent. */
export class ImageNotCleanedError extends Error {
  constructor(fileName) {
    super(`the photo ${fileName} could not be cleaned of hidden details`);
    this.fileName = fileName;
  }
}

/** Whether `file` is cleaned by `withoutMetadata` (judged by its declared type). */
export function isCleaned(file) {
  return CLEANED_TYPES.includes(file.type);
}

/**
 * `file` itself, or for a photo a new file of the same name holding only its pixels.
 *
 * The picture is drawn upright (`imageOrientation: 'from-image'`), because the orientation tag
 * that would have turned it goes with the rest of the metadata.
 *
 * @param {File} file
 * @returns {Promise<File>}
 * @throws {ImageNotCleanedError} when the browser cannot decode or encode the photo
 */
export async function withoutMetadata(file) {
  if (!isCleaned(file)) return file;
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    throw new ImageNotCleanedError(file.name);
  }
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, file.type, LOSSY_QUALITY));
  if (blob === null) throw new ImageNotCleanedError(file.name);
  return new File([blob], file.name, { type: blob.type });
}
