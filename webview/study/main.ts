// The study view's bundle (dist/webview/study.js): the page lives beside the dashboard's.
import '../dashboard/studyPage';
